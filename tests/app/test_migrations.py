"""Alembic owns the schema: a fresh upgrade matches the models, an upgrade from the previous
revision keeps the data, and downgrade/upgrade round-trips."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from app.manage import alembic_config, main, migrate
from app.models import Base
from app.search import include_schema_name, search_messages
from tests.app.conftest import TEST_DATABASE_URL


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        schema = f"mig_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_fresh_upgrade_matches_the_models(empty_db: str) -> None:
    migrate(database_url=empty_db)
    engine = _engine(empty_db)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_schema_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_the_history_window_index_exists(empty_db: str) -> None:
    migrate(database_url=empty_db)
    engine = _engine(empty_db)
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("messages")}
    engine.dispose()
    assert indexes["ix_messages_conversation_id_id"] == ["conversation_id", "id"]


@pytest.mark.parametrize("start", ["0001", "0002", "0003"])
def test_upgrade_from_previous_revision_keeps_data(empty_db: str, start: str) -> None:
    """Data written at an older revision survives the upgrade — including rows in tables
    that reference a table a migration rebuilds (a cascading drop would delete them)."""
    command.upgrade(alembic_config(empty_db), start)
    engine = _engine(empty_db)
    conv = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " created_at) VALUES (1, 'Ana', 'ana', 'a@example.com', 'a@example.com', 'h',"
                " CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversations (id, user_id, title, title_is_custom, created_at,"
                " updated_at) VALUES (:id, 1, 'Old', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": conv.hex if engine.dialect.name == "sqlite" else conv},
        )
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, role, content, token_estimate, created_at)"
                " VALUES (:id, 'user', 'hello', 2, CURRENT_TIMESTAMP)"
            ),
            {"id": conv.hex if engine.dialect.name == "sqlite" else conv},
        )
    migrate(database_url=empty_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users")).scalar() == "Ana"
        assert conn.execute(text("SELECT content FROM messages")).scalar() == "hello"
        row = conn.execute(text("SELECT title, busy_token FROM conversations")).one()
        assert tuple(row) == ("Old", None)
    engine.dispose()


def test_upgrade_indexes_existing_messages_for_search(empty_db: str) -> None:
    """Migration 0006 on a database with rows in every table: nothing is lost, and the
    messages written before it are found by search (the index is built for them)."""
    command.upgrade(alembic_config(empty_db), "0003")
    engine = _engine(empty_db)
    sqlite = engine.dialect.name == "sqlite"
    convs = [uuid.uuid4(), uuid.uuid4()]
    with engine.begin() as conn:
        for user_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO users (id, username, username_key, email, email_key,"
                    " password_hash, created_at) VALUES (:id, :name, :name, :email, :email, 'h',"
                    " CURRENT_TIMESTAMP)"
                ),
                {"id": user_id, "name": f"u{user_id}", "email": f"u{user_id}@example.com"},
            )
            conn.execute(
                text(
                    "INSERT INTO conversations (id, user_id, title, title_is_custom, created_at,"
                    " updated_at) VALUES (:id, :user, 'Old', false, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"id": convs[user_id - 1].hex if sqlite else convs[user_id - 1], "user": user_id},
            )
            conn.execute(
                text(
                    "INSERT INTO messages (conversation_id, role, content, token_estimate,"
                    " created_at) VALUES (:id, 'user', :content, 5, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": convs[user_id - 1].hex if sqlite else convs[user_id - 1],
                    "content": f"Uma viagem à Bahia, escrita por u{user_id}",
                },
            )
        conn.execute(
            text(
                "INSERT INTO refresh_tokens (user_id, family_id, token_hash, created_at,"
                " expires_at) VALUES (1, :family, 'hash', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"family": uuid.uuid4().hex if sqlite else uuid.uuid4()},
        )
        conn.execute(
            text(
                "INSERT INTO rate_counters (key, window_start, count, expires_at)"
                " VALUES ('chat:1', 1, 3, 9999999999)"
            )
        )
    migrate(database_url=empty_db)
    with engine.connect() as conn:
        for table, count in [
            ("users", 2),
            ("conversations", 2),
            ("messages", 2),
            ("refresh_tokens", 1),
            ("rate_counters", 1),
        ]:
            counted = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (names listed above)
            assert conn.execute(counted).scalar() == count
        # 0007: existing accounts become enabled users; nobody is an admin until one is made.
        accounts = conn.execute(text("SELECT role, disabled_at FROM users")).all()
        assert [tuple(a) for a in accounts] == [("user", None), ("user", None)]
    with Session(engine) as session:
        hits, _ = search_messages(session, user_id=1, raw_query="bahia", limit=10, offset=0)
        assert [h.snippet for h in hits] == ["Uma viagem à Bahia, escrita por u1"]
        # New writes after the upgrade are indexed by the triggers / generated column.
        session.execute(
            text("UPDATE messages SET content = 'agora Sergipe' WHERE content LIKE '%u2'")
        )
        session.commit()
        hits, _ = search_messages(session, user_id=2, raw_query="sergipe", limit=10, offset=0)
        assert [h.snippet for h in hits] == ["agora Sergipe"]
    command.downgrade(alembic_config(empty_db), "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar() == 2
    engine.dispose()


def test_downgrade_and_upgrade_round_trip(empty_db: str) -> None:
    migrate(database_url=empty_db)
    command.downgrade(alembic_config(empty_db), "0001")
    engine = _engine(empty_db)
    assert "refresh_tokens" not in inspect(engine).get_table_names()
    engine.dispose()
    migrate(database_url=empty_db)
    engine = _engine(empty_db)
    assert "refresh_tokens" in inspect(engine).get_table_names()
    engine.dispose()


def test_single_head() -> None:
    from alembic.script import ScriptDirectory

    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


@pytest.fixture
def clean_environ():
    """--env-file writes into os.environ (as systemd's EnvironmentFile would): undo it."""
    import os

    from app.core.config import get_settings

    saved = dict(os.environ)
    get_settings.cache_clear()
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="backup/restore are for SQLite")
def test_manage_cli_migrate_backup_restore(tmp_path: Path, clean_environ) -> None:
    env = tmp_path / "chatbot.env"
    env.write_text(f"# test\nDATA_DIR={tmp_path}\nDATABASE_URL=\n")
    assert main(["--env-file", str(env), "migrate"]) == 0
    db = tmp_path / "chatbot.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, username_key, email, email_key, password_hash,"
                " created_at) VALUES ('x', 'x', 'x@e.com', 'x@e.com', 'h', CURRENT_TIMESTAMP)"
            )
        )
    backup = tmp_path / "backups" / "b1.db"
    assert main(["--env-file", str(env), "backup", str(backup)]) == 0
    assert backup.exists() and (backup.stat().st_mode & 0o777) == 0o600
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users"))
    engine.dispose()
    assert main(["--env-file", str(env), "restore", str(backup)]) == 0
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 1
    engine.dispose()
    for _ in range(4):
        assert (
            main(
                [
                    "--env-file",
                    str(env),
                    "backup",
                    "--dir",
                    str(tmp_path / "rot"),
                    "--keep",
                    "2",
                ]
            )
            == 0
        )
    assert len(list((tmp_path / "rot").glob("chatbot-*.db"))) == 2
    assert main(["--env-file", str(env), "check"]) == 0


def test_manage_check_refuses_bad_production_config(tmp_path: Path, clean_environ, capsys) -> None:
    env = tmp_path / "prod.env"
    env.write_text("APP_ENV=production\nSECRET_KEY=changeme\nGEMINI_API_KEY=k\n")
    assert main(["--env-file", str(env), "check"]) == 1
    assert "SECRET_KEY" in capsys.readouterr().err


def test_upgrade_from_0003_turns_conversations_into_branches(
    empty_db: str, settings_factory, fake
) -> None:
    """Rows in every table at 0003; after 0004 each message's parent is the one before it in
    its conversation, each conversation views its last message, everything else is intact,
    and a chat turn continues the conversation with its memory."""
    from fastapi.testclient import TestClient

    from app.core.config import signing_key
    from app.core.security import create_access_token
    from app.main import create_app

    command.upgrade(alembic_config(empty_db), "0003")
    engine = _engine(empty_db)
    sqlite = engine.dialect.name == "sqlite"
    a, b, empty = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def uid(u: uuid.UUID) -> object:
        return u.hex if sqlite else u

    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " created_at) VALUES (7, 'Ana', 'ana', 'a@example.com', 'a@example.com', 'h',"
                " CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO refresh_tokens (user_id, family_id, token_hash, created_at,"
                " expires_at) VALUES (7, :f, 'th', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"f": uid(uuid.uuid4())},
        )
        conn.execute(
            text(
                "INSERT INTO rate_counters (key, window_start, count, expires_at)"
                " VALUES ('chat-minute:user:7', 60, 3, 120)"
            )
        )
        for conv, title in ((a, "A"), (b, "B"), (empty, "Empty")):
            conn.execute(
                text(
                    "INSERT INTO conversations (id, user_id, title, title_is_custom, created_at,"
                    " updated_at) VALUES (:id, 7, :t, false, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"id": uid(conv), "t": title},
            )
        # Two conversations' messages interleaved by id, as concurrent users write them.
        rows = [(a, "user", "a1"), (b, "user", "b1"), (a, "ai", "a2"), (b, "ai", "b2")]
        rows += [(a, "user", "a3"), (a, "ai", "a4")]
        for conv, role, content in rows:
            conn.execute(
                text(
                    "INSERT INTO messages (conversation_id, role, content, token_estimate,"
                    " created_at) VALUES (:c, :r, :t, 1, CURRENT_TIMESTAMP)"
                ),
                {"c": uid(conv), "r": role, "t": content},
            )
    migrate(database_url=empty_db)
    with engine.connect() as conn:
        msgs = conn.execute(
            text("SELECT id, content, role, parent_id, state FROM messages ORDER BY id")
        ).all()
        ids = {content: mid for mid, content, *_ in msgs}
        parents = {content: parent for _, content, _, parent, _ in msgs}
        assert parents == {
            "a1": None,
            "b1": None,
            "a2": ids["a1"],
            "b2": ids["b1"],
            "a3": ids["a2"],
            "a4": ids["a3"],
        }
        assert [(c, r) for _, c, r, _, _ in msgs] == [(c, r) for _, r, c in rows]
        assert {s for *_, s in msgs} == {"done"}
        leaves = dict(conn.execute(text("SELECT title, current_leaf_id FROM conversations")).all())
        assert leaves == {"A": ids["a4"], "B": ids["b2"], "Empty": None}
        assert conn.execute(text("SELECT count(*) FROM refresh_tokens")).scalar() == 1
        assert conn.execute(text("SELECT count FROM rate_counters")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM summaries")).scalar() == 0
    engine.dispose()

    settings = settings_factory(database_url=empty_db)
    with TestClient(create_app(settings)) as client:
        token, _ = create_access_token(7, signing_key(settings), 600)
        headers = {"Authorization": f"Bearer {token}"}
        listed = client.get(f"/conversations/{a}/messages", headers=headers).json()["items"]
        assert [m["content"] for m in listed] == ["a1", "a2", "a3", "a4"]
        r = client.post("/chat", headers=headers, json={"conversationId": str(a), "message": "a5"})
        assert r.status_code == 200, r.text
        assert fake.requests[-1].texts == ["a1", "a2", "a3", "a4", "a5"]
        listed = client.get(f"/conversations/{a}/messages", headers=headers).json()["items"]
        assert [m["content"] for m in listed] == ["a1", "a2", "a3", "a4", "a5", r.json()["answer"]]
        assert listed[-1]["parent_id"] == listed[-2]["id"] and listed[-2]["parent_id"] == ids["a4"]


def test_upgrade_to_0008_keeps_rows_in_every_table(empty_db: str, settings_factory, fake) -> None:
    """Rows in every table at 0007; 0008 adds the invite and reset tables, keeps everything,
    and the app works on the result (an admin makes an invite, a sign-up uses it)."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.helpers.accounts import login, registration

    command.upgrade(alembic_config(empty_db), "0007")
    engine = _engine(empty_db)
    sqlite = engine.dialect.name == "sqlite"
    conv = uuid.uuid4()

    def uid(u: uuid.UUID) -> object:
        return u.hex if sqlite else u

    import anyio

    from app.core.security import PasswordHasher

    password_hash = anyio.run(PasswordHasher(1).hash, "correct horse battery")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " created_at, role) VALUES (7, 'Ana', 'ana', 'a@example.com', 'a@example.com',"
                " :h, CURRENT_TIMESTAMP, 'admin')"
            ),
            {"h": password_hash},
        )
        conn.execute(
            text(
                "INSERT INTO refresh_tokens (user_id, family_id, token_hash, created_at,"
                " expires_at) VALUES (7, :f, 'th', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"f": uid(uuid.uuid4())},
        )
        conn.execute(
            text(
                "INSERT INTO rate_counters (key, window_start, count, expires_at)"
                " VALUES ('chat-minute:user:7', 60, 3, 120)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversations (id, user_id, title, title_is_custom, created_at,"
                " updated_at) VALUES (:id, 7, 'Old', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": uid(conv)},
        )
        conn.execute(
            text(
                "INSERT INTO messages (id, conversation_id, role, content, token_estimate,"
                " created_at, state) VALUES (1, :c, 'user', 'hello', 2, CURRENT_TIMESTAMP,"
                " 'done')"
            ),
            {"c": uid(conv)},
        )
        conn.execute(
            text(
                "INSERT INTO summaries (conversation_id, through_message_id, content,"
                " token_estimate, created_at) VALUES (:c, 1, 'a summary', 3, CURRENT_TIMESTAMP)"
            ),
            {"c": uid(conv)},
        )
        conn.execute(
            text(
                "INSERT INTO site_settings (key, value, updated_at, updated_by)"
                " VALUES ('signup_policy', '\"invite\"', CURRENT_TIMESTAMP, 'Ana')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (created_at, event, actor, target)"
                " VALUES (CURRENT_TIMESTAMP, 'register', 'Ana', 'Ana')"
            )
        )
    migrate(database_url=empty_db)
    with engine.connect() as conn:
        for table in (
            "users",
            "refresh_tokens",
            "rate_counters",
            "conversations",
            "messages",
            "summaries",
            "site_settings",
            "audit_events",
        ):
            counted = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (names listed above)
            assert conn.execute(counted).scalar() == 1, table
        assert conn.execute(text("SELECT role FROM users")).scalar() == "admin"
        for table in ("invites", "invite_uses", "password_resets"):
            counted = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (names listed above)
            assert conn.execute(counted).scalar() == 0
    engine.dispose()

    with TestClient(create_app(settings_factory(database_url=empty_db))) as client:
        assert client.get("/config").json()["signup"]["policy"] == "invite"
        ana = login(client, "ana")
        made = client.post("/admin/invites", json={}, headers=ana.headers).json()
        token = made["url"].rsplit("/", 1)[1]
        r = client.post("/register", json={**registration("bob"), "invite": token})
        assert r.status_code == 201, r.text
        r = client.delete("/admin/users/7", headers=ana.headers)
        assert r.status_code == 409  # the only admin
    command.downgrade(alembic_config(empty_db), "0007")
    engine = _engine(empty_db)
    assert "invites" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 2
    engine.dispose()


def test_upgrade_to_0009_keeps_rows_of_every_table(empty_db: str) -> None:
    """0009 (usage counters, quota override, TOTP) on a database with rows in every table of
    0007: they all survive, accounts get no override and no TOTP, and the new tables work."""
    command.upgrade(alembic_config(empty_db), "0007")
    engine = _engine(empty_db)
    sqlite = engine.dialect.name == "sqlite"
    conv = uuid.uuid4()
    conv_param = conv.hex if sqlite else conv
    family = uuid.uuid4()
    statements = [
        "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
        " created_at, role, last_active_at) VALUES (1, 'Ana', 'ana', 'a@example.com',"
        " 'a@example.com', 'h', CURRENT_TIMESTAMP, 'admin', CURRENT_TIMESTAMP)",
        "INSERT INTO conversations (id, user_id, title, title_is_custom, created_at,"
        " updated_at) VALUES (:conv, 1, 'Old', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO messages (id, conversation_id, role, content, token_estimate, created_at,"
        " state, input_tokens, output_tokens) VALUES (1, :conv, 'user', 'hello', 2,"
        " CURRENT_TIMESTAMP, 'done', NULL, NULL)",
        "INSERT INTO messages (id, conversation_id, role, content, token_estimate, created_at,"
        " parent_id, state, input_tokens, output_tokens) VALUES (2, :conv, 'ai', 'hi', 1,"
        " CURRENT_TIMESTAMP, 1, 'done', 10, 3)",
        "UPDATE conversations SET current_leaf_id = 2",
        "INSERT INTO summaries (conversation_id, through_message_id, content, token_estimate,"
        " created_at) VALUES (:conv, 2, 'sum', 1, CURRENT_TIMESTAMP)",
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, created_at, expires_at)"
        " VALUES (1, :family, 'th', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ('k', 0, 3, 9)",
        "INSERT INTO site_settings (key, value, updated_at) VALUES"
        " ('daily_token_budget', '1000', CURRENT_TIMESTAMP)",
        "INSERT INTO audit_events (created_at, event, actor) VALUES (CURRENT_TIMESTAMP,"
        " 'login_ok', 'Ana')",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(
                text(statement), {"conv": conv_param, "family": family.hex if sqlite else family}
            )
    migrate(database_url=empty_db)
    counts = {
        table: 1
        for table in (
            "users",
            "conversations",
            "summaries",
            "refresh_tokens",
            "rate_counters",
            "site_settings",
            "audit_events",
        )
    }
    counts["messages"] = 2
    with engine.begin() as conn:
        for table, expected in counts.items():
            query = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (our table names)
            assert conn.execute(query).scalar() == expected, table
        row = conn.execute(
            text(
                "SELECT role, monthly_token_quota, totp_secret, totp_enabled_at, totp_last_step"
                " FROM users"
            )
        ).one()
        assert tuple(row) == ("admin", None, None, None, None)
        assert conn.execute(text("SELECT current_leaf_id FROM conversations")).scalar() == 2
        conn.execute(
            text(
                "INSERT INTO usage_user_days (user_id, day, input_tokens, output_tokens,"
                " messages) VALUES (1, '2026-12-03', 10, 3, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO usage_site_days (day, input_tokens, output_tokens, messages)"
                " VALUES ('2026-12-03', 10, 3, 1)"
            )
        )
        conn.execute(text("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES (1, 'x')"))
    # And back: 0009's downgrade leaves 0007's rows in place.
    command.downgrade(alembic_config(empty_db), "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users")).scalar() == "Ana"
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar() == 2
        assert "usage_user_days" not in inspect(conn).get_table_names()
    engine.dispose()
