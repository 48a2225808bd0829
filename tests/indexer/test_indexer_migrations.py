"""The migrations build exactly the schema the indexer declares, on SQLite and PostgreSQL, and 0003 empties an
index of an earlier deployment (its events follow other rules) while keeping token metadata."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fabrica.indexer.db import make_engine, migrate
from fabrica.indexer.schema import metadata


def test_migrations_build_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            for name in ("proposals", "votes", "delegations", "voting_power", "arbiters", "dispute_assignments",
                         "manifests", "timelock_operations", "roles"):
                assert sa.inspect(conn).has_table(name), name
    finally:
        engine.dispose()


def test_0003_empties_an_earlier_index_but_keeps_token_metadata(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0002")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO settings (name, value, updated_block) VALUES ('treasury', '\"0x1\"', 5)"))
            conn.execute(sa.text("INSERT INTO tokens (address, symbol, decimals) VALUES ('0xab', 'FAB', 18)"))
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM settings")).scalar() == 0
            assert conn.execute(sa.text("SELECT symbol FROM tokens")).scalar() == "FAB"
    finally:
        engine.dispose()
