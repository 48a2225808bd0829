"""What one gateway worker holds: the database, the read model, content storage, the chain and its deployment."""
from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fabrica.indexer.db import is_sqlite, make_engine
from fabrica.indexer.read import ReadModel
from fabrica.protocol.config import Settings

from .audit import Audit
from .config import GatewayConfig
from .errors import Unavailable
from .ratelimit import RateLimiter
from .schema import ensure_schema
from .sessions import SessionStore, TokenSigner, load_secret

if TYPE_CHECKING:
    from fabrica.protocol.deployment import Deployment
    from web3 import Web3

log = logging.getLogger("fabrica.gateway")


class Gateway:
    """Per-process state shared by every request of one worker."""

    def __init__(self, config: GatewayConfig, settings: Settings, db_url: str) -> None:
        self.config = config
        self.settings = settings
        self.db_url = db_url
        self.sqlite = is_sqlite(db_url)
        pool = {} if self.sqlite else {"pool_size": 20, "max_overflow": 20, "pool_pre_ping": True}
        self.engine = make_engine(db_url, **pool)
        ensure_schema(self.engine)
        self.read = ReadModel(self.engine)
        self.sessions = SessionStore(self.engine)
        self.tokens = TokenSigner(load_secret(self.engine, config.secret))
        self.audit = Audit(self.engine)
        self.ip_limiter = RateLimiter(config.rate_per_ip, config.burst_per_ip)
        self.address_limiter = RateLimiter(config.rate_per_address, config.burst_per_address)
        self.telemetry_limiter = RateLimiter(config.telemetry_rate, max(1.0, config.telemetry_rate * 5))
        self.started = time.time()
        self._deployment: Deployment | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ chain
    @cached_property
    def web3(self) -> Web3:
        from web3 import Web3

        return Web3(Web3.HTTPProvider(self.settings.rpc_url, request_kwargs={"timeout": 10}))

    @property
    def chain_id(self) -> int:
        """The chain the index follows (the node's when nothing is indexed yet)."""
        dep = self.deployment_or_none()
        if dep is not None:
            return dep.chain_id
        try:
            return int(self.web3.eth.chain_id)
        except Exception as exc:
            raise Unavailable(f"no index yet and the chain at {self.settings.rpc_url} is unreachable "
                              f"({exc.__class__.__name__})") from None

    def deployment_or_none(self) -> Deployment | None:
        """The deployment the index mirrors, read from the Fabrica home (None before the first sync)."""
        if self._deployment is not None:
            return self._deployment
        from fabrica.protocol.deployment import Deployment

        status = self.read.status()
        if status is None:
            return None
        try:
            dep = Deployment.load(self.settings.deployments_dir, status.chain_id)
        except Exception:
            return None
        with self._lock:
            self._deployment = dep
        return dep

    def deployment(self) -> Deployment:
        """The deployment, or 503 naming what is missing."""
        dep = self.deployment_or_none()
        if dep is None:
            raise Unavailable("the index has no deployment yet: run `fabrica indexer run` against the chain, "
                              f"with its manifest in {self.settings.deployments_dir}")
        return dep

    def contract(self, name: str) -> Any:
        """A web3 contract object of the deployment (ABI from fabrica.protocol's artifacts)."""
        from fabrica.protocol.artifacts import abi

        return self.web3.eth.contract(address=self.deployment().address(name), abi=abi(name))

    def content_store(self) -> Any:
        return self.settings.content_store()

    def index_lag(self) -> tuple[int | None, int | None]:
        """(indexed block, chain head); either None when unknown."""
        status = self.read.status()
        try:
            head = int(self.web3.eth.block_number)
        except Exception:
            head = None
        return (status.block_number if status else None), head

    def after_index_change(self) -> None:
        """Work to do whenever the index moves (the stream's hub calls it, off the event loop): read new jobs' specs."""
        from .specs import resolve_pending

        try:
            resolve_pending(self.engine, self.content_store())
        except Exception:  # a spec that cannot be read must never stop the stream
            log.exception("reading job specs failed")

    def ping_db(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
