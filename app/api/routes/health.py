"""Liveness, readiness and the public UI configuration."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text

from app import __version__
from app.admin import settings as admin_settings
from app.admin.settings import SiteSettings
from app.api.deps import StateDep
from app.chat.llm import model_info
from app.schemas import ConfigOut, LimitsOut, ReadyOut, SignupOut

router = APIRouter(tags=["service"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. No I/O, so it stays cheap under load."""
    return {"status": "ok"}


@router.get("/ready", response_model=ReadyOut, responses={503: {"description": "Not ready"}})
async def ready(state: StateDep) -> ReadyOut:
    """Readiness: the database answers and the host is not being drained; says which model
    mode is running. A load balancer sends requests only to hosts that answer 200 here."""
    if state.settings.drain_file.exists():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "draining")

    def ping() -> None:
        with state.session_factory() as session:
            session.execute(text("SELECT 1"))

    try:
        with anyio.fail_after(5):
            await anyio.to_thread.run_sync(ping, abandon_on_cancel=True)
    except Exception as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unreachable") from exc
    return ReadyOut(status="ready", database="ok", model=model_info(state.settings))


@router.get("/config", response_model=ConfigOut)
async def config(state: StateDep) -> ConfigOut:
    """What the UI needs to know: model mode (for the demo banner), limits, and who may sign
    up (the policy an admin may change at run time)."""
    s = state.settings

    def read_policy() -> SiteSettings:
        with state.session_factory() as session:
            return admin_settings.current(session, s)

    policy = await anyio.to_thread.run_sync(read_policy)
    return ConfigOut(
        model=model_info(s),
        limits=LimitsOut(
            max_message_chars=s.max_message_chars, history_token_budget=s.history_token_budget
        ),
        signup=SignupOut(policy=policy.signup_policy, email_domains=policy.signup_email_domains),
        version=__version__,
    )
