"""The conversation as the user sees it: the branch being viewed (root → current leaf),
each message with its versions, and switching between versions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import crud
from app.models import Conversation, Message
from app.schemas import MessagePage, MessageState, PathMessageOut


def shown_state(message: Message, lease_lapsed: bool) -> MessageState:
    """An answer still marked streaming whose turn lease has lapsed was interrupted (its
    worker died): it is reported so at once, before the next turn marks the row."""
    if message.state == "streaming" and lease_lapsed:
        return "interrupted"
    return message.state  # type: ignore[return-value]


def message_page(
    session: Session, conv: Conversation, *, limit: int, before: int | None
) -> MessagePage:
    """The newest `limit` messages of the current branch, oldest first; `before` (the
    oldest id of the previous page) continues with the messages above it."""
    start = conv.current_leaf_id
    if before is not None:
        above = crud.get_message(session, conversation_id=conv.id, message_id=before)
        start = above.parent_id if above is not None else None
    rows = crud.path_to(session, conversation_id=conv.id, leaf_id=start, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    versions = crud.versions_of(
        session, conversation_id=conv.id, parent_ids={m.parent_id for m in rows}
    )
    lapsed = crud.lease_lapsed(conv)
    items = []
    for m in reversed(rows):
        siblings = versions.get(m.parent_id) or [m.id]
        items.append(
            PathMessageOut(
                id=m.id,
                role=m.role,  # type: ignore[arg-type]
                content=m.content,
                created_at=m.created_at,
                parent_id=m.parent_id,
                state=shown_state(m, lapsed),
                model=m.model,
                input_tokens=m.input_tokens,
                output_tokens=m.output_tokens,
                version=siblings.index(m.id) + 1,
                versions=len(siblings),
                sibling_ids=siblings,
            )
        )
    return MessagePage(items=items, has_more=has_more)
