"""Full-text search over the current user's messages."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentUser, SessionDep
from app.schemas import ErrorOut, SearchHit, SearchPage, SearchText
from app.search import search_messages

router = APIRouter(
    tags=["search"],
    responses={401: {"model": ErrorOut, "description": "Not authenticated"}},
)


@router.get("/search", response_model=SearchPage)
def search(
    user: CurrentUser,
    session: SessionDep,
    q: Annotated[SearchText, Query(description="words to find; the last one may be a prefix")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> SearchPage:
    """My messages containing every word of `q` (case and accents ignored), best first."""
    hits, has_more = search_messages(
        session, user_id=user.id, raw_query=q, limit=limit, offset=offset
    )
    return SearchPage(
        items=[SearchHit(**asdict(hit)) for hit in hits],
        has_more=has_more,
        limit=limit,
        offset=offset,
    )
