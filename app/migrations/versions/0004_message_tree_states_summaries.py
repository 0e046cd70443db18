"""Messages form a tree, answers are rows that grow, and conversations get summaries.

- messages: parent_id (the tree), state (streaming / done / stopped / interrupted / error),
  model and usage of an answer, updated_at (last growth while streaming);
- conversations: current_leaf_id (the branch being viewed), summary_busy_until (the
  summariser's lease);
- summaries: running summaries, each covering the path up to `through_message_id`.

Existing conversations become single branches: each message's parent is the message before
it (by id) in its conversation, and the conversation views its last message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STREAMING = sa.text("state = 'streaming'")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("state", sa.String(length=12), server_default="done", nullable=False)
        )
        batch_op.add_column(sa.Column("model", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("input_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("output_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_messages_parent_id_messages"),
            "messages",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "ix_messages_parent_id_conversation_id", ["parent_id", "conversation_id"]
        )
        batch_op.create_index(
            "ix_messages_streaming",
            ["conversation_id"],
            sqlite_where=STREAMING,
            postgresql_where=STREAMING,
        )
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("current_leaf_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("summary_busy_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            op.f("fk_conversations_current_leaf_id_messages"),
            "messages",
            ["current_leaf_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(op.f("ix_conversations_current_leaf_id"), ["current_leaf_id"])
    op.create_table(
        "summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("through_message_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("token_estimate", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_summaries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["through_message_id"],
            ["messages.id"],
            name=op.f("fk_summaries_through_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summaries")),
    )
    op.create_index(
        "ix_summaries_conversation_id_id", "summaries", ["conversation_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_summaries_through_message_id"), "summaries", ["through_message_id"], unique=False
    )
    # Until now a conversation was one line of messages: the previous message (by id) is the
    # parent, and the last one is the leaf. Both lookups are range scans of the
    # (conversation_id, id) index.
    op.execute(
        "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
        " WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"
    )
    op.execute(
        "UPDATE conversations SET current_leaf_id = (SELECT max(m.id) FROM messages m"
        " WHERE m.conversation_id = conversations.id)"
    )


def downgrade() -> None:
    # The old schema reads a conversation as one line of messages by id: only the branch
    # being viewed can go back there; the other versions would interleave with it, so they go.
    op.execute(
        "DELETE FROM messages WHERE conversation_id IN"
        " (SELECT id FROM conversations WHERE current_leaf_id IS NOT NULL) AND id NOT IN ("
        " WITH RECURSIVE path(id, parent_id) AS ("
        "  SELECT m.id, m.parent_id FROM messages m"
        "   JOIN conversations c ON m.id = c.current_leaf_id"
        "  UNION ALL"
        "  SELECT m.id, m.parent_id FROM messages m JOIN path ON m.id = path.parent_id)"
        " SELECT id FROM path)"
    )
    op.drop_index(op.f("ix_summaries_through_message_id"), table_name="summaries")
    op.drop_index("ix_summaries_conversation_id_id", table_name="summaries")
    op.drop_table("summaries")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index(op.f("ix_conversations_current_leaf_id"))
        batch_op.drop_constraint(
            op.f("fk_conversations_current_leaf_id_messages"), type_="foreignkey"
        )
        batch_op.drop_column("summary_busy_until")
        batch_op.drop_column("current_leaf_id")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_index("ix_messages_streaming")
        batch_op.drop_index("ix_messages_parent_id_conversation_id")
        batch_op.drop_constraint(op.f("fk_messages_parent_id_messages"), type_="foreignkey")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("output_tokens")
        batch_op.drop_column("input_tokens")
        batch_op.drop_column("model")
        batch_op.drop_column("state")
        batch_op.drop_column("parent_id")
