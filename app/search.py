"""Full-text search over the messages of one user's conversations.

The index lives in the database and follows every write by itself (migration 0006): FTS5 on
SQLite, a tsvector column with a GIN index on PostgreSQL. This module turns the user's text
into a query that can only mean "these words" (never FTS5 or tsquery syntax), ranks with bm25
or ts_rank, and cuts the snippet in Python, the same way on both databases, as plain text plus
the ranges of the words that matched: the client highlights them with text nodes.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from app.models import UTCDateTime

# Words as both indexes see them: runs of letters and digits (underscore and punctuation
# separate words, as in SQLite's unicode61 tokenizer and PostgreSQL's default parser).
WORD_RE = re.compile(r"[^\W_]+")
MAX_TERMS = 16
# The last word of a query is also matched as a prefix (search as you type) once it has this
# many characters; the FTS5 table keeps a prefix index of that length (prefix='3').
PREFIX_MIN = 3
SNIPPET_CHARS = 160
SNIPPET_LEAD = 40
ELLIPSIS = "…"
MAX_SNIPPET_HITS = 200

# Schema objects migration 0006 creates outside the models (a virtual table and its shadow
# tables on SQLite, a generated column and its index on PostgreSQL): Alembic's comparison
# with the models leaves them out.
SQLITE_FTS_TABLE = "messages_fts"
PG_COLUMN = "search_vector"
PG_INDEX = "ix_messages_search"
SQLITE_TRIGGERS = (
    "messages_search_ai",
    "messages_search_ad",
    "messages_search_au",
    "conversations_search_bd",
    "conversations_search_au",
)


def include_schema_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name` hook: skip the search index's own objects."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SQLITE_FTS_TABLE)
    if type_ == "column":
        return name != PG_COLUMN
    if type_ == "index":
        return name != PG_INDEX
    return True


def fold(word: str) -> str:
    """Case- and accent-insensitive form of a word, for finding it in a snippet."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]  # as typed (NFC), at most MAX_TERMS
    prefix: bool  # the last term also matches words that start with it

    @classmethod
    def parse(cls, raw: str) -> Query:
        normalized = unicodedata.normalize("NFC", raw)
        words = list(WORD_RE.finditer(normalized))[:MAX_TERMS]
        if not words:
            return cls((), False)
        last = words[-1]
        # "travel" is a word being typed; "travel " (a space after it) is a finished word.
        prefix = last.end() == len(normalized) and len(last.group()) >= PREFIX_MIN
        return cls(tuple(w.group() for w in words), prefix)

    def fts5(self, user_id: int) -> str:
        # Every term is a quoted FTS5 string: AND, OR, NOT, NEAR, column names and
        # operators in the user's text are words like any other. Terms hold only letters
        # and digits, so they contain no quote to escape.
        phrases = [f'"{term}"' for term in self.terms]
        if self.prefix:
            phrases[-1] += "*"
        return f'owner : "{user_id}" AND content : ({" ".join(phrases)})'

    def tsquery(self) -> str:
        # Quoted lexemes for to_tsquery; letters and digits only, so nothing to escape.
        lexemes = [f"'{term}'" for term in self.terms]
        if self.prefix:
            lexemes[-1] += ":*"
        return " & ".join(lexemes)


@dataclass(frozen=True)
class Hit:
    conversation_id: uuid.UUID
    conversation_title: str
    message_id: int
    role: str
    snippet: str
    highlights: list[tuple[int, int]]
    created_at: datetime
    rank: float


COLUMNS: dict[str, TypeEngine[Any]] = {
    "id": Integer(),
    "conversation_id": Uuid(),
    "role": String(),
    "content": Text(),
    "created_at": UTCDateTime(),
    "title": String(),
    "rank": Float(),
}

# A word in nearly every message of a heavy user would have every one of those messages ranked
# to find the best 20; only the newest MAX_RANKED matches are ranked instead. Both databases
# find those newest matches cheaply: FTS5 walks its postings by rowid, descending; PostgreSQL
# reads the primary key backwards for a common word and the GIN index for a rare one.
MAX_RANKED = 2000

# bm25() is lower for better matches; its weights ignore the owner column. The FTS5 table is
# searched within the owner's postings first, then joined: the join's user_id test is what
# makes results owner-scoped, whatever the index holds.
SQLITE_SQL = """
SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, c.title, -f.score AS rank
FROM (
    SELECT rowid AS id, bm25(messages_fts, 1.0, 0.0) AS score FROM messages_fts
    WHERE messages_fts MATCH :match ORDER BY rowid DESC LIMIT :ranked
) AS f
JOIN messages m ON m.id = f.id
JOIN conversations c ON c.id = m.conversation_id
WHERE c.user_id = :user_id
ORDER BY f.score, m.id DESC
LIMIT :limit OFFSET :offset
"""

POSTGRESQL_SQL = """
SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, c.title,
       ts_rank(m.search_vector, to_tsquery('simple', message_search_fold(:tsquery))) AS rank
FROM (
    SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE c.user_id = :user_id
      AND m.search_vector @@ to_tsquery('simple', message_search_fold(:tsquery))
    ORDER BY m.id DESC LIMIT :ranked
) AS newest
JOIN messages m ON m.id = newest.id
JOIN conversations c ON c.id = m.conversation_id
ORDER BY rank DESC, m.id DESC
LIMIT :limit OFFSET :offset
"""


def search_messages(
    session: Session, *, user_id: int, raw_query: str, limit: int, offset: int
) -> tuple[list[Hit], bool]:
    """The user's messages matching every word of `raw_query`, best first; and whether
    there are more after this page."""
    query = Query.parse(raw_query)
    if not query.terms:
        return [], False
    params: dict[str, object] = {
        "user_id": user_id,
        "limit": limit + 1,
        "offset": offset,
        "ranked": MAX_RANKED,
    }
    if session.get_bind().dialect.name == "sqlite":
        sql, params["match"] = SQLITE_SQL, query.fts5(user_id)
    else:
        sql, params["tsquery"] = POSTGRESQL_SQL, query.tsquery()
        # psycopg prepares a statement run 5 times, and PostgreSQL's generic plan for it can't
        # see the words: it scanned every message even for a rare one (170 ms against 1 ms at
        # 100k messages). Plan each search for its own words; SET LOCAL ends with the read.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = session.execute(text(sql).columns(**COLUMNS), params).all()
    hits = []
    for row in rows[:limit]:
        snippet, highlights = make_snippet(row.content, query)
        hits.append(
            Hit(
                conversation_id=row.conversation_id,
                conversation_title=row.title,
                message_id=row.id,
                role=row.role,
                snippet=snippet,
                highlights=highlights,
                created_at=row.created_at,
                rank=float(row.rank),
            )
        )
    return hits, len(rows) > limit


def make_snippet(content: str, query: Query) -> tuple[str, list[tuple[int, int]]]:
    """About SNIPPET_CHARS characters of `content` around the words that matched, whitespace
    collapsed, with the [start, end) ranges of those words in the snippet, in code points."""
    body = unicodedata.normalize("NFC", content)
    terms = [fold(t) for t in query.terms]
    last = len(terms) - 1
    folded: dict[str, str] = {}  # words repeat a lot in a message: fold each one once
    hits = []
    for m in WORD_RE.finditer(body):
        word = m.group()
        key = folded.get(word)
        if key is None:
            # ASCII words need no decomposition; lower() is their casefold.
            key = folded[word] = word.lower() if word.isascii() else fold(word)
        for i, term in enumerate(terms):
            if key == term or (query.prefix and i == last and key.startswith(term)):
                hits.append((m.start(), m.end(), i))
                break
        if len(hits) == MAX_SNIPPET_HITS:  # bounds the window search on a long message
            break
    start = 0
    if hits:
        # The window that shows the most different query words, the earliest on a tie.
        def shown(anchor: int) -> int:
            limit = hits[anchor][0] + SNIPPET_CHARS - SNIPPET_LEAD
            return len({term for s, e, term in hits[anchor:] if e <= limit})

        anchor = max(range(len(hits)), key=lambda i: (shown(i), -i))
        # Lead in a little, but show a whole window when the message is near its end.
        start = max(0, min(hits[anchor][0] - SNIPPET_LEAD, len(body) - SNIPPET_CHARS))
        if start > 0:  # begin at a word's start, not in the middle of one
            space = body.find(" ", start, hits[anchor][0])
            start = space + 1 if space != -1 else hits[anchor][0]
    end = min(len(body), start + SNIPPET_CHARS)
    if end < len(body):
        space = body.rfind(" ", start, end)
        if space > start:
            end = space
    return _collapse(body, start, end, [(s, e) for s, e, _ in hits if s >= start and e <= end])


SPACES_RE = re.compile(r"\s+")


def _collapse(
    body: str, start: int, end: int, ranges: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """body[start:end] with runs of whitespace as one space and ellipses where it was cut,
    and `ranges` (sorted offsets of words in body) moved to offsets in that text."""
    at = start
    while at < end and body[at].isspace():
        at += 1
    out = ELLIPSIS if start > 0 else ""
    highlights = []
    for s, e in ranges:  # words: no whitespace inside, a word character on both sides
        out += SPACES_RE.sub(" ", body[at:s])
        highlights.append((len(out), len(out) + e - s))
        out += body[s:e]
        at = e
    out = (out + SPACES_RE.sub(" ", body[at:end])).rstrip()
    return out + (ELLIPSIS if end < len(body) else ""), highlights
