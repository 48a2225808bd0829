"""Engines, migrations and the writer lock.

`migrate(url)` brings a database to the newest schema with Alembic (programmatically, no alembic.ini).
`WriterLock` makes sure two indexers never write one database: a PostgreSQL session advisory lock keyed by
the schema, or for a SQLite file an exclusive `flock` on a side file plus an ownership token in the
`writer_lock` row (so a stale row from a killed process is simply taken over once its flock is gone).
"""
from __future__ import annotations

import fcntl
import os
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from .errors import DatabaseError, WriterLockError
from .schema import writer_lock

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else sa.make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


URL_FORMS = "sqlite:///PATH (a file) or postgresql://USER@HOST:PORT/DB"


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `sqlite:///path`; PostgreSQL always goes through psycopg 3."""
    try:
        u = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseError(f"--db {url!r} is not a database URL: use {URL_FORMS}") from None
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"--db {u.render_as_string(hide_password=True)}: the indexer writes SQLite or PostgreSQL, "
                            f"not {backend!r}: use {URL_FORMS}")
    if backend == "sqlite" and u.get_driver_name() != "pysqlite":
        raise DatabaseError(f"--db {u.render_as_string(hide_password=True)}: SQLite goes through Python's sqlite3; "
                            "write the URL as sqlite:///PATH")
    if backend == "postgresql" and u.get_driver_name() != "psycopg":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def describe_db_error(url: str, exc: Exception) -> DatabaseError:
    """One line for a database that failed under us (refused connection, missing table…), password hidden."""
    try:
        shown = sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        shown = "the database"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return DatabaseError(f"cannot use {shown}: {reason[0] if reason else type(exc).__name__}; check --db and that "
                         "the database server runs")


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine tuned for the indexer: WAL and relaxed fsync on SQLite, psycopg 3 on PostgreSQL."""
    url = normalize_url(url)
    if is_sqlite(url):
        try:
            engine = sa.create_engine(url, **kw)
        except sa.exc.ArgumentError as exc:
            raise DatabaseError(f"--db {url}: {exc}") from None

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            if sa.make_url(url).database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return engine
    try:
        return sa.create_engine(url, **kw)
    except sa.exc.ArgumentError as exc:  # e.g. an unknown connect option in the query string
        raise DatabaseError(f"--db {sa.make_url(url).render_as_string(hide_password=True)}: {exc}") from None


def alembic_config(url: str, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest schema)."""
    if isinstance(url_or_engine, Engine):
        with url_or_engine.begin() as conn:
            command.upgrade(alembic_config(str(url_or_engine.url), conn), revision)
    else:
        engine = make_engine(url_or_engine)
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(url_or_engine, conn), revision)
        finally:
            engine.dispose()


class WriterLock:
    """Exclusive right to write one index database, held until `release()` (or process death)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.token = uuid.uuid4().hex
        self._conn: sa.Connection | None = None
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        if is_sqlite(self.engine):
            self._acquire_sqlite()
        else:
            self._acquire_postgres()
        return self

    def _acquire_postgres(self) -> None:
        conn = self.engine.connect()
        got = conn.execute(
            sa.text("SELECT pg_try_advisory_lock(hashtext('fabrica.indexer:' || current_schema()))")
        ).scalar()
        conn.commit()
        if not got:
            conn.close()
            raise WriterLockError(
                f"another indexer is writing {self.engine.url.render_as_string(hide_password=True)}; "
                "stop it first (only one writer per database)"
            )
        self._conn = conn

    def _acquire_sqlite(self) -> None:
        db = self.engine.url.database
        if db and db != ":memory:":
            fd = os.open(f"{db}.writer-lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise WriterLockError(
                    f"another indexer is writing {db}; stop it first (only one writer per database)"
                ) from None
            self._fd = fd
        # The flock is ours, so whatever owner the row names is dead: take it over (one statement).
        with self.engine.begin() as conn:
            conn.execute(sa.delete(writer_lock))
            conn.execute(sa.insert(writer_lock).values(id=1, owner=self.token, acquired_at=time.time()))

    def check(self, conn: sa.Connection) -> None:
        """Inside a write transaction: confirm this process still owns the database (SQLite token)."""
        if is_sqlite(self.engine):
            owner = conn.execute(sa.select(writer_lock.c.owner)).scalar()
            if owner != self.token:
                raise WriterLockError("this indexer lost its writer lock; another process took the database")

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(hashtext('fabrica.indexer:' || current_schema()))")
                )
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
