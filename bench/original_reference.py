"""A stand-in for the original project's chat server, for bench/throughput_vs_original.py.

The original's code is not part of this repository; this is written from what it did per
turn, so that "our throughput over the original's" can be measured on one machine:

- a FastAPI app with the four endpoints of the original contract (POST /register, /login,
  /session, /chat), a JWT bearer token, and the user looked up by the token's subject on
  every request, as FastAPI's tutorial does;
- the history in a langchain-community `SQLChatMessageHistory`-shaped table:
  `message_store (id, session_id, message JSON)` with **no index on session_id**. Each turn
  reads every stored message of the session (a full table scan), each row through
  `json.loads` + `messages_from_dict`, as that class does;
- the whole history pasted as text into **one** human message, and one
  `ChatGoogleGenerativeAI` call (the real client, pointed at the fake Gemini server);
- the user and AI messages written as two inserts, each in its own session and commit, as
  `SQLChatMessageHistory.add_message` does.

SQLite as that class leaves it: SQLAlchemy's defaults (rollback journal, pysqlite's 5 s busy
timeout). Routes are plain `def`, so FastAPI runs the blocking database and model calls in
its thread pool. What it leaves out makes it, if anything, faster than the original: the
class also ran `metadata.create_all` each time it was built, and there are no rate limits,
leases or quotas here.

Served like ours: gunicorn with 4 `uvicorn_worker.UvicornWorker` workers, e.g.

    REFERENCE_DB=/tmp/ref.db GEMINI_BASE_URL=http://127.0.0.1:8089 \\
        gunicorn -k uvicorn_worker.UvicornWorker -w 4 bench.original_reference:app
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import uuid
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    get_buffer_string,
    message_to_dict,
    messages_from_dict,
)
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel
from sqlalchemy import Integer, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

SECRET = os.environ.get("REFERENCE_SECRET") or secrets.token_hex(32)
DB_URL = "sqlite:///" + os.environ.get("REFERENCE_DB", "reference.db")


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)


class SessionRow(Base):
    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)


class MessageStore(Base):
    """langchain-community's default model: no index on session_id."""

    __tablename__ = "message_store"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


engine = create_engine(DB_URL)
Base.metadata.create_all(engine)
Sessions = sessionmaker(engine)

llm = ChatGoogleGenerativeAI(
    model="gemini-2.5-flash",
    google_api_key=os.environ.get("GEMINI_API_KEY", "reference-key"),
    base_url=os.environ["GEMINI_BASE_URL"],
    timeout=60,
    max_retries=1,
)


class SQLHistory:
    """What `SQLChatMessageHistory` does with its default converter."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    @property
    def messages(self) -> list[BaseMessage]:
        with Sessions() as session:
            rows = session.scalars(
                select(MessageStore)
                .where(MessageStore.session_id == self.session_id)
                .order_by(MessageStore.id.asc())
            )
            return [messages_from_dict([json.loads(row.message)])[0] for row in rows]

    def add_message(self, message: BaseMessage) -> None:
        with Sessions() as session:
            session.add(
                MessageStore(
                    session_id=self.session_id, message=json.dumps(message_to_dict(message))
                )
            )
            session.commit()


def _hash(password: str, salt: bytes) -> str:
    # Sign-up cost is not what is measured; a quick KDF keeps set-up short.
    return salt.hex() + ":" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000).hex()


class RegisterIn(BaseModel):
    username: str
    email: str
    password: str
    password_confirm: str


class LoginIn(BaseModel):
    username: str
    password: str


class ChatIn(BaseModel):
    conversationId: str
    message: str


app = FastAPI()
oauth2 = OAuth2PasswordBearer(tokenUrl="login")


def current_user(token: Annotated[str, Depends(oauth2)]) -> UserRow:
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "Invalid token") from exc
    with Sessions() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == claims["sub"]))
    if user is None:
        raise HTTPException(401, "Invalid token")
    return user


@app.post("/register", status_code=201)
def register(body: RegisterIn) -> dict:
    if body.password != body.password_confirm:
        raise HTTPException(422, "Passwords do not match")
    with Sessions() as session:
        user = UserRow(
            username=body.username,
            email=body.email,
            password_hash=_hash(body.password, secrets.token_bytes(16)),
        )
        session.add(user)
        session.commit()
        return {"id": user.id, "username": user.username, "email": user.email}


@app.post("/login")
def login(body: LoginIn) -> dict:
    with Sessions() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == body.username))
    if user is None or _hash(body.password, bytes.fromhex(user.password_hash[:32])) != (
        user.password_hash
    ):
        raise HTTPException(401, "Wrong username or password")
    token = jwt.encode({"sub": user.username, "exp": int(time.time()) + 3600}, SECRET, "HS256")
    return {
        "access_token": token,
        "token_type": "bearer",
        "user_id": user.id,
        "username": user.username,
    }


@app.post("/session")
def new_session(user: Annotated[UserRow, Depends(current_user)]) -> dict:
    session_id = str(uuid.uuid4())
    with Sessions() as session:
        session.add(SessionRow(id=session_id, user_id=user.id, title="Novo Chat"))
        session.commit()
    return {"sessionId": session_id, "title": "Novo Chat"}


@app.post("/chat")
def chat(body: ChatIn, user: Annotated[UserRow, Depends(current_user)]) -> dict:
    history = SQLHistory(body.conversationId)
    past = get_buffer_string(history.messages)
    prompt = f"Conversation so far:\n{past}\n\nHuman: {body.message}" if past else body.message
    answer = llm.invoke([HumanMessage(content=prompt)]).text
    history.add_message(HumanMessage(content=body.message))
    history.add_message(AIMessage(content=answer))
    return {"answer": answer}


@app.get("/ready")
def ready() -> dict:
    return {"status": "ok"}
