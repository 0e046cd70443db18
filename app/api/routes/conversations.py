"""Conversations and their messages, always scoped to the current user."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from app import crud
from app.api.deps import CurrentUser, Responses, SessionDep, StateDep
from app.chat.tree import message_page
from app.core.db import write_transaction
from app.schemas import (
    ConversationOut,
    ConversationPage,
    ConversationPatch,
    ConversationSummary,
    ErrorOut,
    MessagePage,
    SessionOut,
)

router = APIRouter(
    tags=["conversations"],
    responses={
        401: {"model": ErrorOut, "description": "Not authenticated"},
        413: {"model": ErrorOut, "description": "Request body too large"},
    },
)

NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "No such conversation of yours"}}


def _not_found() -> HTTPException:
    # Identical for "doesn't exist" and "belongs to someone else": ids reveal nothing.
    return HTTPException(status.HTTP_404_NOT_FOUND, "Conversation not found")


@router.post("/session", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
def start_conversation(user: CurrentUser, state: StateDep) -> SessionOut:
    """Start a conversation (the original project's contract calls it a session)."""
    with write_transaction(state.session_factory) as session:
        conv = crud.create_conversation(session, user_id=user.id)
    return SessionOut(sessionId=conv.id, title=conv.title)


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> ConversationPage:
    """My conversations, most recent activity first; `q` searches titles."""
    rows, total = crud.list_conversations(
        session, user_id=user.id, limit=limit, offset=offset, query=(q or "").strip() or None
    )
    items = [ConversationSummary.model_validate(c) for c in rows]
    return ConversationPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut, responses=NOT_FOUND)
def get_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> ConversationOut:
    conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
    if conv is None:
        raise _not_found()
    return ConversationOut.model_validate(conv)


@router.patch(
    "/conversations/{conversation_id}", response_model=ConversationOut, responses=NOT_FOUND
)
def update_conversation(
    conversation_id: uuid.UUID, body: ConversationPatch, user: CurrentUser, state: StateDep
) -> ConversationOut:
    """Rename (a renamed conversation keeps its title) or set/clear the system prompt."""
    fields = body.model_fields_set
    if "title" in fields and body.title is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "title must not be null")
    with write_transaction(state.session_factory) as session:
        conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
        if conv is None:
            raise _not_found()
        if body.title is not None:  # set (an explicit null was refused above)
            conv.title = body.title
            conv.title_is_custom = True
        if "system_prompt" in fields:
            conv.system_prompt = body.system_prompt or None
    return ConversationOut.model_validate(conv)


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
def delete_conversation(conversation_id: uuid.UUID, user: CurrentUser, state: StateDep) -> Response:
    with write_transaction(state.session_factory) as session:
        if not crud.delete_conversation(session, user_id=user.id, conversation_id=conversation_id):
            raise _not_found()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/conversations/{conversation_id}/messages", response_model=MessagePage, responses=NOT_FOUND
)
def list_messages(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> MessagePage:
    """The branch being viewed (root → current leaf), oldest first, each message with its
    versions; `before=<id>` pages back through older ones."""
    conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
    if conv is None:
        raise _not_found()
    return message_page(session, conv, limit=limit, before=before)
