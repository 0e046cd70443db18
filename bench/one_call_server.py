"""The cheapest servers that make one model call per turn: ceilings for the throughput
ratio of bench/throughput_vs_original.py.

It answers the original contract's POST /session and POST /chat and does nothing per turn
but one `ChatGoogleGenerativeAI` call (the real client, pointed at the fake Gemini server):
no authentication, no database. The conversation so far is made up from the question's
number ("question n", as the load sends them) rather than read. Any server
that makes that call once per turn costs at least this much per turn, so its turns/s over
the reference's bounds what any such server can reach on the machine, under the same load.

`ONE_CALL_MODE=sync` (the default) makes the reference's call: the conversation pasted as
text into one human message, `invoke` from a plain `def` route, in FastAPI's thread pool;
`async` awaits `ainvoke` with the same message on the event loop.
`window_stream` makes the call as ours shapes it: streamed (`astream`), with a system
prompt and a verbatim window of up to 6 earlier messages before the question (6 is our
window's floor, and no summary message is sent: the cheapest request of our design);
`window_invoke` the same request answered whole (`ainvoke`), as POST /chat could ask for it.
"""

from __future__ import annotations

import os
import uuid

from fastapi import FastAPI
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    get_buffer_string,
)
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel

llm = ChatGoogleGenerativeAI(
    model="gemini-2.5-flash",
    google_api_key="one-call-key",
    base_url=os.environ["GEMINI_BASE_URL"],
    timeout=60,
    max_retries=1,
)


class ChatIn(BaseModel):
    conversationId: str
    message: str


app = FastAPI()
MODE = os.environ.get("ONE_CALL_MODE", "sync")
SYSTEM = "You are a helpful assistant. Answer clearly and concisely."
WINDOW = 6
EARLIER_ANSWER = "A short instant answer from the fake model."  # the benchmark's fake answer


def past_for(message: str) -> list[BaseMessage]:
    """The conversation before turn n ("question n", as the benchmark's load sends it):
    n questions and the fake model's answers."""
    n = int(message.rsplit(" ", 1)[-1]) if message[-1:].isdigit() else 0
    past: list[BaseMessage] = []
    for i in range(n):
        past += [HumanMessage(content=f"question {i}"), AIMessage(content=EARLIER_ANSWER)]
    return past


def window_for(message: str) -> list[BaseMessage]:
    """What ours sends of it at the least: the newest min(2n, WINDOW) messages."""
    return past_for(message)[-WINDOW:]


def ours(message: str) -> list[BaseMessage]:
    """Our request at its cheapest: the system prompt, that window and the question."""
    return [SystemMessage(content=SYSTEM), *window_for(message), HumanMessage(content=message)]


def pasted(message: str) -> HumanMessage:
    """What the reference sends: the whole conversation pasted as text into one message."""
    past = get_buffer_string(past_for(message))
    return HumanMessage(
        content=f"Conversation so far:\n{past}\n\nHuman: {message}" if past else message
    )


@app.post("/session")
def new_session() -> dict:
    return {"sessionId": str(uuid.uuid4()), "title": "Novo Chat"}


if MODE == "window_stream":

    @app.post("/chat")
    async def chat_window(body: ChatIn) -> dict:
        parts = [chunk.text async for chunk in llm.astream(ours(body.message))]
        return {"answer": "".join(parts)}

elif MODE == "window_invoke":

    @app.post("/chat")
    async def chat_window_whole(body: ChatIn) -> dict:
        answer = await llm.ainvoke(ours(body.message))
        return {"answer": answer.text}

elif MODE == "async":

    @app.post("/chat")
    async def chat_async(body: ChatIn) -> dict:
        answer = (await llm.ainvoke([pasted(body.message)])).text
        return {"answer": answer}

else:

    @app.post("/chat")
    def chat(body: ChatIn) -> dict:
        return {"answer": llm.invoke([pasted(body.message)]).text}


@app.get("/ready")
def ready() -> dict:
    return {"status": "ok"}
