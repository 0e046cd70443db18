"""Builds the chat model from Settings: Gemini through LangChain, or the offline demo model."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_google_genai import ChatGoogleGenerativeAI

from app.chat.demo_model import DEMO_LABEL, DemoChatModel
from app.core.config import Settings
from app.schemas import ModelInfo


def build_chat_model(settings: Settings) -> BaseChatModel:
    if settings.model_mode == "demo":
        return DemoChatModel()
    api_key = settings.api_key
    if api_key is None:  # Settings refuses this; kept for callers that build Settings oddly
        raise ValueError("Gemini mode needs GEMINI_API_KEY (or GOOGLE_API_KEY)")
    kwargs: dict[str, object] = {}
    if settings.gemini_base_url:
        kwargs["base_url"] = settings.gemini_base_url
    if settings.gemini_temperature is not None:
        kwargs["temperature"] = settings.gemini_temperature
    return ChatGoogleGenerativeAI(
        model=settings.gemini_model,
        google_api_key=api_key,
        # The client's default is no timeout (a hung upstream hangs the request forever)
        # and 6 attempts (~33 s of retrying a steady 503): both are set on purpose.
        timeout=settings.gemini_timeout_seconds,
        max_retries=settings.gemini_max_retries,
        **kwargs,
    )


def model_info(settings: Settings) -> ModelInfo:
    if settings.model_mode == "demo":
        return ModelInfo(mode="demo", name="offline-demo", label=DEMO_LABEL)
    return ModelInfo(mode="gemini", name=settings.gemini_model, label=settings.gemini_model)
