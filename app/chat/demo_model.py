"""The offline demo model: used when no Gemini key is configured (development), so the whole
app can be tried without an account. It streams, and it proves memory works by saying how
many earlier messages it was given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

DEMO_LABEL = "Offline demo model (no Gemini key configured)"


class DemoChatModel(BaseChatModel):
    """Answers from the conversation itself; no network."""

    chunk_delay_seconds: float = 0.03

    @property
    def _llm_type(self) -> str:
        return "offline-demo"

    def _answer(self, messages: list[BaseMessage]) -> str:
        history = [m for m in messages if m.type in ("human", "ai")]
        earlier = history[:-1]
        last = history[-1].text if history else ""
        first_user = next((m.text for m in history if isinstance(m, HumanMessage)), "")
        lines = [
            "**Modo demonstração offline** / *offline demo mode* — "
            "no Gemini key is configured, so this answer is generated locally.",
            "",
            f"You said: “{_clip(last, 200)}”",
            "",
            f"I was given **{len(earlier)} earlier message(s)** of this conversation as memory.",
        ]
        if earlier:
            lines.append(f"The conversation started with: “{_clip(first_user, 120)}”")
        lines += [
            "",
            "Set `GEMINI_API_KEY` in `.env` and restart to talk to Gemini 2.5 Flash.",
        ]
        return "\n".join(lines)

    def _usage(self, messages: list[BaseMessage], answer: str) -> UsageMetadata:
        prompt = sum(len(m.text) for m in messages) // 4 + 1
        completion = len(answer) // 4 + 1
        return UsageMetadata(
            input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self._answer(messages)
        msg = AIMessage(content=answer, usage_metadata=self._usage(messages, answer))
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _chunks(self, messages: list[BaseMessage]) -> list[ChatGenerationChunk]:
        """The answer word by word, then an empty chunk carrying the usage."""
        answer = self._answer(messages)
        words = answer.split(" ")
        chunks = [
            ChatGenerationChunk(message=AIMessageChunk(content=w if i == 0 else " " + w))
            for i, w in enumerate(words)
        ]
        usage = self._usage(messages, answer)
        chunks.append(ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage)))
        return chunks

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(messages)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if chunk.message.content:
                # Paced like a real model so the UI's streaming can be seen and stopped.
                await asyncio.sleep(self.chunk_delay_seconds)
            yield chunk


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
