"""The gateway's own tables, beside the indexer's read model in the same database.

They hold what the chain does not: sign-in nonces and sessions, the audit log, relayed signed orders, node
telemetry and print logs, and each job's spec as read from content storage (process, material, size) so jobs
can be filtered by material. `ensure_schema` creates missing tables (under an advisory lock on PostgreSQL, so
workers starting together do not race); the tables only ever gain rows, never columns the indexer owns.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

secrets = sa.Table(  # the HMAC key every worker signs session tokens with
    "gw_secret", metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("secret", sa.String(128), nullable=False),
)

nonces = sa.Table(  # SIWE nonces: single-use, with an expiry
    "gw_nonces", metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    sa.Column("used_at", sa.Float, nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
)

sessions = sa.Table(  # one per sign-in; the refresh token is kept only as its hash and rotates on use
    "gw_sessions", metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("address", sa.String(42), nullable=False, index=True),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("refresh_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("refreshed_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

audit_log = sa.Table(  # every security-relevant event: sign-in, failed sign-in, role denied, admin action…
    "gw_audit_log", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("event", sa.String(48), nullable=False, index=True),
    sa.Column("address", sa.String(42), nullable=True, index=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(36), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

signed_orders = sa.Table(  # signed orders relayed to takers (job orders and design-market orders)
    "gw_signed_orders", metadata,
    sa.Column("order_hash", sa.String(66), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),  # job, design
    sa.Column("maker", sa.String(42), nullable=False, index=True),
    sa.Column("order", sa.JSON, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("expiry", sa.BigInteger, nullable=False),
    sa.Column("relayed_at", sa.Float, nullable=False),
)

job_specs = sa.Table(  # a job's spec document, read from content storage by its CID
    "gw_job_specs", metadata,
    sa.Column("job_id", sa.BigInteger, primary_key=True),
    sa.Column("spec_cid", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("process", sa.String(32), nullable=True, index=True),
    sa.Column("material", sa.String(32), nullable=True, index=True),
    sa.Column("process_bits", sa.BigInteger, nullable=True),
    sa.Column("material_bits", sa.BigInteger, nullable=True),
    sa.Column("size_x", sa.Float, nullable=True),  # bounding box, mm
    sa.Column("size_y", sa.Float, nullable=True),
    sa.Column("size_z", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),  # why the spec could not be read (missing content, not a spec)
)

telemetry_cursor = sa.Table(  # per node: the last signed batch accepted (sequence numbers only increase)
    "gw_telemetry_nodes", metadata,
    sa.Column("node_id", sa.BigInteger, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False),
    sa.Column("operator", sa.String(42), nullable=False),
)

telemetry = sa.Table(  # machine samples pushed by node clients (temperatures, duty, progress, errors)
    "gw_telemetry", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("node_id", sa.BigInteger, nullable=False),
    sa.Column("machine", sa.String(64), nullable=False),
    sa.Column("job_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("at", sa.Float, nullable=False),  # sample time (Unix seconds, from the node)
    sa.Column("state", sa.String(16), nullable=True),  # idle, heating, printing, paused, error, offline
    sa.Column("hotend", sa.Float, nullable=True),
    sa.Column("hotend_target", sa.Float, nullable=True),
    sa.Column("bed", sa.Float, nullable=True),
    sa.Column("bed_target", sa.Float, nullable=True),
    sa.Column("hotend_duty", sa.Float, nullable=True),  # 0..1 (Marlin @:)
    sa.Column("bed_duty", sa.Float, nullable=True),  # 0..1 (Marlin B@:)
    sa.Column("progress", sa.Float, nullable=True),  # 0..1
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("batch_seq", sa.BigInteger, nullable=False),
)
sa.Index("ix_gw_telemetry_node_at", telemetry.c.node_id, telemetry.c.at)

print_logs = sa.Table(  # print log lines pushed with telemetry
    "gw_print_logs", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("node_id", sa.BigInteger, nullable=False),
    sa.Column("job_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("line", sa.Text, nullable=False),
)
sa.Index("ix_gw_print_logs_node_at", print_logs.c.node_id, print_logs.c.at)

_LOCK_KEY = 0x6661627269636167  # "fabricag": one advisory lock id for schema creation


def ensure_schema(engine: Engine) -> None:
    """Create the gateway's tables that are missing (safe to call from every worker at once)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        metadata.create_all(conn, checkfirst=True)
