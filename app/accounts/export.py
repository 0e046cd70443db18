"""GET /me/export's body: every conversation and message of a user as one JSON document,
produced a page of messages at a time so a large history never sits in memory whole.

The document's framing (braces, brackets, the keys that hold the lists) is written here
explicitly; every value inside it is serialized whole by `json.dumps` from the API's own
output models, so the shape is `schemas.ExportOut`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.models import User
from app.schemas import ConversationOut, ExportMessage, MeOut

PAGE = 500


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _members(model: BaseModel) -> str:
    """A model's fields as JSON object members (`"k": v, ...`), to open an object whose
    last member is a list still to be streamed."""
    return ", ".join(f"{_json(k)}: {_json(v)}" for k, v in model.model_dump(mode="json").items())


def export_json(
    factory: sessionmaker[Session], user: User, exported_at: datetime
) -> Iterator[bytes]:
    """`{"user": …, "exported_at": …, "conversations": [{…, "messages": […]}, …]}`."""
    me = MeOut.model_validate(user)
    yield (
        f'{{"user": {_json(me.model_dump(mode="json"))}, '
        f'"exported_at": {_json(exported_at.isoformat())}, "conversations": ['
    ).encode()
    with factory() as session:
        conversations = crud.list_all_conversations(session, user_id=user.id)
    for n, conversation in enumerate(conversations):
        meta = ConversationOut.model_validate(conversation)
        yield f'{", " if n else ""}{{{_members(meta)}, "messages": ['.encode()
        yield from _messages(factory, conversation.id)
        yield b"]}"
    yield b"]}"


def _messages(factory: sessionmaker[Session], conversation_id: uuid.UUID) -> Iterator[bytes]:
    after, first = 0, True
    while True:
        with factory() as session:
            page = crud.messages_after(
                session, conversation_id=conversation_id, after=after, limit=PAGE
            )
        for message in page:
            item = ExportMessage.model_validate(message).model_dump(mode="json")
            yield f"{'' if first else ', '}{_json(item)}".encode()
            first = False
        if len(page) < PAGE:
            return
        after = page[-1].id
