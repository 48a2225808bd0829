"""The migrations build exactly the schema the indexer declares, on SQLite and PostgreSQL, and 0003 and 0004 empty
an index of an earlier deployment (its events follow other rules) while keeping token metadata."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fabrica.indexer.db import make_engine, migrate
from fabrica.indexer.schema import designs, metadata


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


def test_0004_adds_the_design_economy_and_empties_an_earlier_index(db_url: str) -> None:
    """0004 recreates `designs` with 256-bit ids and adds the design economy's tables; an index of an earlier
    deployment (its DesignNFT events follow another ABI) is emptied, token metadata kept; down and up again."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0003")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO designs (token_id, owner, minter, cid, royalty_bps, minted_block, "
                                 "updated_block) VALUES (1, '0xa', '0xa', 'Qm', 500, 3, 3)"))
            conn.execute(sa.text("INSERT INTO tokens (address, symbol, decimals) VALUES ('0xab', 'FAB', 18)"))
        migrate(engine)
        big = 2**256 - 1
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM designs")).scalar() == 0
            assert conn.execute(sa.text("SELECT symbol FROM tokens")).scalar() == "FAB"
            for name in ("design_sales", "design_orders", "design_cancelled_orders", "design_order_counters",
                         "royalties", "licence_terms", "licence_purchases", "licence_uses", "licence_balances",
                         "bounties", "bounty_contributions", "bounty_submissions", "bounty_approvals",
                         "bounty_awards", "bounty_balances", "currencies"):
                assert sa.inspect(conn).has_table(name), name
            conn.execute(sa.insert(designs).values(
                token_id=big, creator="0xa", owner="0xb", royalty_receiver="0xa", royalty_bps=700, cid="Qm",
                metadata_cid="Qm", state="active", licensed=False, minted_block=1, minted_tx="0x1", updated_block=1))
        with engine.connect() as conn:
            assert conn.execute(sa.select(designs.c.token_id).where(designs.c.token_id == big)).scalar() == big
        migrate_down(engine, "0003")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("bounties")
            assert "minter" in {c["name"] for c in sa.inspect(conn).get_columns("designs")}
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def migrate_down(engine: sa.Engine, revision: str) -> None:
    from alembic import command
    from fabrica.indexer.db import alembic_config

    with engine.begin() as conn:
        command.downgrade(alembic_config(str(engine.url), conn), revision)
