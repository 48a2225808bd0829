"""The hot list endpoints' fast path on PostgreSQL: asynchronous psycopg connections kept per worker, and the
page built as JSON by PostgreSQL itself.

A list page through SQLAlchemy costs the worker a thread hop, result processing per column and per row, and a
JSON encoding of every item; here one round trip returns the page's items already as JSON text (row_to_json
keeps the columns' order, and the amounts are the decimal strings the read model stores), the item count, the
last id for the cursor and the indexed block — all from one snapshot — and the worker only frames the bytes.
SQLite keeps the SQLAlchemy path: it has no server to build JSON and no wire to save.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from .errors import Unavailable
from .roles import Principal, principal
from .sessions import ACCESS_COOKIE

Q = TypeVar("Q", bound=BaseModel)
MAX_CONNECTIONS = 4  # per worker: two cores' worth of PostgreSQL backends, with room for a slow query


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `parameters` of a query-string model, for `openapi_extra` (what FastAPI would list for the same
    fields declared one by one)."""
    schema = model.model_json_schema()
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return {"parameters": out}


def parse_query(model: type[Q], request: Request) -> Q:
    """The request's query string as `model` (the last value of a repeated name, unknown names ignored, like
    FastAPI); a 422 naming each bad parameter otherwise.

    One pydantic validation instead of FastAPI's per-parameter solving, which costs a hot list endpoint more
    than its database round trip."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def public() -> Any:
    """`allow("public")` for async endpoints: the session check (a database read) runs in a thread only when the
    request carries a token; an anonymous request never leaves the event loop."""

    async def check(request: Request) -> Principal | None:
        if "authorization" not in request.headers and ACCESS_COOKIE not in request.cookies:
            request.state.principal = None
            return None
        who = await run_in_threadpool(principal, request)
        request.state.principal = who
        if who is not None:  # as in roles.allow: a signed-in wallet spends its own budget too
            request.app.state.gw.address_limiter.take(who.address, "requests")
        return who

    check.roles = ("public",)  # type: ignore[attr-defined]  # what roles.roles_of reads for the matrix
    return Depends(check)


class PgPages:
    """Pages of a list query as JSON, built by PostgreSQL, over a few autocommit connections of this worker.

    `page(query, params, order_key)` wraps a SQLAlchemy select (with named bind parameters) so that one row
    comes back: the indexed block, the number of items, the last item's `order_key` and the items as a JSON
    array's text, in the select's order.
    """

    def __init__(self, engine: Engine, size: int = MAX_CONNECTIONS) -> None:
        self.engine = engine
        self.size = size
        _args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)  # SQLAlchemy's own adapters; psycopg's defaults read these columns the same
        self._connect_kwargs = kwargs
        self._sql: dict[Any, str] = {}
        self._idle: list[Any] = []
        self._open: set[Any] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        # Gateway.close() disposes of the engine: close these connections with it.
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def sql(self, key: Any, build: Callable[[], sa.Select], order_key: str) -> str:
        """The wrapped statement for a query shape, built and compiled once per shape (psycopg then prepares it
        once per connection)."""
        text = self._sql.get(key)
        if text is None:
            inner = str(build().compile(dialect=self.engine.dialect))
            # ORDER BY inside string_agg: a subquery's order is not promised to survive aggregation.
            text = (f"SELECT (SELECT block_number FROM checkpoint WHERE id = 1), count(*), min(t.{order_key}), "
                    f"coalesce(string_agg(row_to_json(t)::text, ',' ORDER BY t.{order_key} DESC), '') "
                    f"FROM ({inner}) AS t")
            self._sql[key] = text
        return text

    async def page(self, sql: str, params: Mapping[str, Any]) -> tuple[int | None, int, int | None, str]:
        """(indexed block, item count, smallest key, items as JSON text without brackets)."""
        import psycopg

        for attempt in (1, 2):
            conn = await self._acquire()
            try:
                cur = await conn.execute(sql, params)
                row = await cur.fetchone()
            except psycopg.OperationalError as exc:  # the server restarted or dropped us: one fresh try
                self._discard(conn)
                if attempt == 2:
                    raise Unavailable(f"the index database is unreachable ({str(exc).strip().splitlines()[0]}): "
                                      "check that PostgreSQL runs and --db points at it") from None
                continue
            except BaseException:
                self._discard(conn)
                raise
            self._release(conn)
            return row[0], row[1], row[2], row[3]
        raise AssertionError("unreachable")

    async def _acquire(self) -> Any:
        import psycopg

        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test client's, a restarted server's): start afresh
            self.close()
            self._loop, self._slots = loop, asyncio.Semaphore(self.size)
        assert self._slots is not None
        await self._slots.acquire()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._open.discard(conn)
        try:
            conn = await psycopg.AsyncConnection.connect(autocommit=True, **self._connect_kwargs)
            # The pages' statements are prepared; planning them afresh on every call costs more than running
            # them (the generic plan walks the primary key backwards whatever the filter values are).
            await conn.execute("SET plan_cache_mode = force_generic_plan")
        except psycopg.OperationalError as exc:
            self._slots.release()
            raise Unavailable(f"cannot connect to the index database ({str(exc).strip().splitlines()[0]}): "
                              "check that PostgreSQL runs and --db points at it") from None
        except BaseException:
            self._slots.release()
            raise
        self._open.add(conn)
        return conn

    def _release(self, conn: Any) -> None:
        self._idle.append(conn)
        if self._slots is not None:
            self._slots.release()

    def _discard(self, conn: Any) -> None:
        self._open.discard(conn)
        try:
            conn.pgconn.finish()  # synchronous close of the libpq connection; the object is dropped
        finally:
            if self._slots is not None:
                self._slots.release()

    def close(self) -> None:
        """Close every connection (from any thread: libpq's finish needs no event loop)."""
        for conn in list(self._open):
            conn.pgconn.finish()
        self._open.clear()
        self._idle.clear()
        self._loop, self._slots = None, None
