"""What the assistant remembers of a conversation: its running summary and window."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from app import crud
from app.api.deps import CurrentUser, SessionDep, StateDep
from app.chat.history import remembered
from app.schemas import ErrorOut, MemoryOut

router = APIRouter(
    tags=["conversations"],
    responses={401: {"model": ErrorOut, "description": "Not authenticated"}},
)


@router.get(
    "/conversations/{conversation_id}/memory",
    response_model=MemoryOut,
    responses={404: {"model": ErrorOut, "description": "No such conversation of yours"}},
)
def get_memory(
    conversation_id: uuid.UUID, user: CurrentUser, session: SessionDep, state: StateDep
) -> MemoryOut:
    """The summary the next turn on the branch being viewed sends (what it covers) and the
    size of the verbatim window after it."""
    conv = crud.get_conversation(session, user_id=user.id, conversation_id=conversation_id)
    if conv is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Conversation not found")
    return remembered(session, conv, state.turns.window)
