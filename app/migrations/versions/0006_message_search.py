"""Full-text search over messages, kept in step by the database itself.

SQLite: a contentless FTS5 table `messages_fts(content, owner)` (rowid = messages.id, owner =
the conversation's user id, so a search walks only that user's postings) and triggers that
index every insert, update of the text (a streamed answer grows by UPDATEs) and delete.
Deleting a conversation first deletes its messages, so their triggers still see the owner.
PostgreSQL: a stored generated tsvector column over the accent-folded text and a GIN index.
Both index the rows that exist when this runs. Why these choices: docs/decisions.md.

The triggers name only messages.id, conversation_id and content (and conversations.id,
user_id), so columns added to either table later don't affect them. A later migration that
rebuilds `messages` on SQLite (batch mode, recreate) drops them: it has to create them again
(app/migrations/env.py refuses a migration run that leaves them missing).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lower-case Latin letters with diacritics (U+00E0-U+024F that decompose to an ASCII letter),
# and the letter each folds to: what SQLite's unicode61 tokenizer does with remove_diacritics.
ACCENTED = (
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔ"
    "ǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ"
)
FOLDED = (
    "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiou"
    "uuuuaagkoojgnaaaeeiioorruusthaeooooy"
)

SQLITE_INDEX = (
    "INSERT INTO messages_fts(rowid, content, owner) VALUES (new.id, new.content,"
    " (SELECT user_id FROM conversations WHERE id = new.conversation_id));"
)
# A contentless FTS5 table forgets a row only when given exactly the values it indexed.
SQLITE_UNINDEX = (
    "INSERT INTO messages_fts(messages_fts, rowid, content, owner) VALUES ('delete', old.id,"
    " old.content, (SELECT user_id FROM conversations WHERE id = old.conversation_id));"
)
SQLITE_TRIGGERS = {
    "messages_search_ai": f"AFTER INSERT ON messages BEGIN {SQLITE_INDEX} END",
    "messages_search_ad": f"AFTER DELETE ON messages BEGIN {SQLITE_UNINDEX} END",
    "messages_search_au": (
        "AFTER UPDATE OF content, conversation_id ON messages"
        f" BEGIN {SQLITE_UNINDEX} {SQLITE_INDEX} END"
    ),
    # A cascade from the conversation (or the account) deletes the messages after the
    # conversation row is gone, when their delete trigger could no longer read the owner.
    "conversations_search_bd": (
        "BEFORE DELETE ON conversations"
        " BEGIN DELETE FROM messages WHERE conversation_id = old.id; END"
    ),
    "conversations_search_au": (
        "AFTER UPDATE OF user_id ON conversations BEGIN"
        " INSERT INTO messages_fts(messages_fts, rowid, content, owner)"
        " SELECT 'delete', id, content, old.user_id FROM messages"
        " WHERE conversation_id = old.id;"
        " INSERT INTO messages_fts(rowid, content, owner)"
        " SELECT id, content, new.user_id FROM messages WHERE conversation_id = new.id;"
        " END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE messages_fts USING fts5(content, owner, content='',"
            " tokenize='unicode61 remove_diacritics 2', prefix='3')"
        )
        op.execute(
            "INSERT INTO messages_fts(rowid, content, owner)"
            " SELECT m.id, m.content, c.user_id FROM messages m"
            " LEFT JOIN conversations c ON c.id = m.conversation_id"
        )
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        return
    op.execute(
        "CREATE FUNCTION message_search_fold(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f" AS $$ SELECT translate(lower($1), '{ACCENTED}', '{FOLDED}') $$"
    )
    # Adding the stored column computes it for every existing row (one table rewrite).
    op.execute(
        "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
        " (to_tsvector('simple'::regconfig, message_search_fold(content))) STORED"
    )
    op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE messages_fts")
        return
    op.execute("DROP INDEX ix_messages_search")
    op.execute("ALTER TABLE messages DROP COLUMN search_vector")
    op.execute("DROP FUNCTION message_search_fold(text)")
