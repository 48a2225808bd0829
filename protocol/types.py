"""Fabrica's domain types, defined once: enums matching Solidity ordinals, the on-chain Job, nodes, JobSpec."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, NewType

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JobId = NewType("JobId", int)
NodeId = NewType("NodeId", int)
Address = NewType("Address", str)

ZERO_ADDRESS = Address("0x" + "00" * 20)


class JobStatus(enum.IntEnum):
    """Mirror of Solidity `JobStatus` (contracts/src/types/Job.sol); a claim handed back returns to OPEN."""

    NONE = 0
    OPEN = 1
    CLAIMED = 2
    DELIVERED = 3
    DISPUTED = 4
    SETTLED = 5
    RESOLVED = 6
    CANCELLED = 7
    EXPIRED = 8

    @property
    def is_terminal(self) -> bool:
        """True when no further transition is possible."""
        return self in (JobStatus.SETTLED, JobStatus.RESOLVED, JobStatus.CANCELLED, JobStatus.EXPIRED)


class ProcessKind(enum.IntFlag):
    """Fabrication processes a node offers; bits of NodeRegistry's `processes` (10 defined bits)."""

    FDM = 1 << 0
    SLA = 1 << 1
    SLS = 1 << 2
    MJF = 1 << 3
    CNC_MILL = 1 << 4
    CNC_LATHE = 1 << 5
    LASER_CUT = 1 << 6
    LASER_ENGRAVE = 1 << 7
    SHEET_METAL = 1 << 8
    PCB = 1 << 9


class Material(enum.IntFlag):
    """Materials a node stocks; bits of NodeRegistry's `materials` (40 defined bits, 23 named)."""

    PLA = 1 << 0
    PETG = 1 << 1
    ABS = 1 << 2
    ASA = 1 << 3
    TPU = 1 << 4
    NYLON = 1 << 5
    PC = 1 << 6
    RESIN_STANDARD = 1 << 7
    RESIN_TOUGH = 1 << 8
    RESIN_CASTABLE = 1 << 9
    PA12 = 1 << 10
    ALUMINIUM_6061 = 1 << 11
    ALUMINIUM_7075 = 1 << 12
    STEEL_MILD = 1 << 13
    STAINLESS_304 = 1 << 14
    BRASS = 1 << 15
    COPPER = 1 << 16
    TITANIUM = 1 << 17
    POM = 1 << 18
    WOOD = 1 << 19
    PLYWOOD = 1 << 20
    MDF = 1 << 21
    ACRYLIC = 1 << 22


def parse_flags(flag_type: type[enum.IntFlag], names: str | list[str]) -> enum.IntFlag:
    """Parse 'FDM,SLA' (or a list of names) into a flag value; unknown names are an error."""
    from .errors import FabricaValueError

    items = names.split(",") if isinstance(names, str) else names
    value = flag_type(0)
    for raw in items:
        name = raw.strip().upper().replace("-", "_")
        if not name:
            continue
        try:
            value |= flag_type[name]
        except KeyError:
            known = ", ".join(m.name for m in flag_type)  # type: ignore[misc]
            raise FabricaValueError(f"unknown {flag_type.__name__} {raw!r}; known: {known}") from None
    return value


_UINT96 = (1 << 96) - 1
_UINT40 = (1 << 40) - 1
_UINT32 = (1 << 32) - 1
_UINT64 = (1 << 64) - 1


class Job(BaseModel):
    """The on-chain job struct (contracts/src/types/Job.sol) the market keeps only a hash of."""

    model_config = ConfigDict(frozen=True)

    customer: str
    token: str
    node: str = ZERO_ADDRESS
    royalty_receiver: str = ZERO_ADDRESS
    amount: Annotated[int, Field(ge=0, le=_UINT96)]
    royalty: Annotated[int, Field(ge=0, le=_UINT96)] = 0
    collateral: Annotated[int, Field(ge=0, le=_UINT96)]
    bond: Annotated[int, Field(ge=0, le=_UINT96)] = 0
    fee_bps: Annotated[int, Field(ge=0, le=10_000)]
    delivery_window: Annotated[int, Field(ge=0, le=_UINT32)]
    review_window: Annotated[int, Field(ge=0, le=_UINT32)]
    deadline: Annotated[int, Field(ge=0, le=_UINT40)]
    target_node: Annotated[int, Field(ge=0, le=_UINT64)] = 0  # the only node that may claim; 0 = any
    key: Annotated[int, Field(ge=0, le=_UINT64)] = 0  # storage slot: the job id, or a recycled finished job's slot

    @field_validator("customer", "token", "node", "royalty_receiver")
    @classmethod
    def _checksum(cls, v: str) -> str:
        from eth_utils import to_checksum_address  # here, not at the top: CLI commands without a chain skip eth_*

        return to_checksum_address(v)

    def to_abi(self) -> tuple:
        """The struct as the tuple web3 encodes."""
        return (
            self.customer,
            self.token,
            self.node,
            self.royalty_receiver,
            self.amount,
            self.royalty,
            self.collateral,
            self.bond,
            self.fee_bps,
            self.delivery_window,
            self.review_window,
            self.deadline,
            self.target_node,
            self.key,
        )

    @classmethod
    def from_abi(cls, value: tuple | dict) -> Job:
        """Build from a decoded struct (tuple or web3 AttributeDict)."""
        if isinstance(value, dict) or hasattr(value, "keys"):
            v = dict(value)
            return cls(
                customer=v["customer"],
                token=v["token"],
                node=v["node"],
                royalty_receiver=v["royaltyReceiver"],
                amount=v["amount"],
                royalty=v["royalty"],
                collateral=v["collateral"],
                bond=v["bond"],
                fee_bps=v["feeBps"],
                delivery_window=v["deliveryWindow"],
                review_window=v["reviewWindow"],
                deadline=v["deadline"],
                target_node=v["targetNode"],
                key=v["key"],
            )
        names = list(cls.model_fields)
        return cls(**dict(zip(names, value)))

    @classmethod
    def from_packed(cls, data: bytes | str) -> Job:
        """Build from the packed form JobPosted and OrderTaken carry (contracts' `JobLib.pack`)."""
        return cls.from_abi(unpack_job(data))

    @classmethod
    def from_event(cls, value: bytes | str | tuple | dict) -> Job:
        """Build from an event's `job` argument: packed bytes (or their 0x hex), or a decoded struct."""
        if isinstance(value, bytes | bytearray | str):
            return cls.from_abi(unpack_job(value if isinstance(value, str) else bytes(value)))
        return cls.from_abi(value)

    def packed(self) -> bytes:
        """The packed form (`JobLib.pack`): each field big-endian in its type's width, no padding."""
        out = b""
        for (_name, typ), value in zip(job_abi_fields(), self.to_abi(), strict=True):
            width = _packed_width(typ)
            number = int(value, 16) if typ == "address" else int(value)
            out += number.to_bytes(width, "big")
        return out

    def commitment(self, job_id: int, status: JobStatus) -> bytes:
        """The 32-byte value JobMarket stores in slot `key` for job `job_id` in `status` (hash of id and
        struct, status in the low byte)."""
        from eth_abi import encode as abi_encode
        from eth_utils import keccak

        digest = bytearray(keccak(abi_encode(["uint256", job_abi_type()], [job_id, self.to_abi()])))
        digest[31] = int(status)
        return bytes(digest)

    @property
    def fee(self) -> int:
        """Protocol fee a settlement pays to the treasury."""
        return self.amount * self.fee_bps // 10_000

    @property
    def node_payout(self) -> int:
        """What the node is credited when the job settles."""
        return self.amount - self.fee - self.royalty


def _packed_width(typ: str) -> int:
    """Bytes a field of Solidity type `typ` takes in abi.encodePacked."""
    return 20 if typ == "address" else int(typ.removeprefix("uint")) // 8


def job_abi_fields() -> list[tuple[str, str]]:
    """The Job struct's (name, type) pairs, in order, from the generated JobMarket ABI."""
    job_abi_type()  # checks the field names
    from .artifacts import abi

    fn = next(e for e in abi("JobMarket") if e.get("type") == "function" and e["name"] == "hashJob")
    return [(c["name"], c["type"]) for c in fn["inputs"][1]["components"]]


def unpack_job(data: bytes | str) -> dict[str, int | str]:
    """The struct (camelCase names, as web3 decodes it) from `JobLib.pack`'s bytes (or their 0x hex, as stored
    event arguments hold them); ValueError on a wrong size."""
    from eth_utils import to_checksum_address

    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))

    fields = job_abi_fields()
    size = sum(_packed_width(t) for _, t in fields)
    if len(data) != size:
        raise ValueError(f"a packed job is {size} bytes, got {len(data)}")
    out: dict[str, int | str] = {}
    at = 0
    for name, typ in fields:
        width = _packed_width(typ)
        chunk = data[at:at + width]
        out[name] = to_checksum_address(chunk) if typ == "address" else int.from_bytes(chunk, "big")
        at += width
    return out


def job_abi_type() -> str:
    """The Job tuple type, read from the generated JobMarket ABI (`hashJob`'s first input)."""
    from .artifacts import abi

    fn = next(e for e in abi("JobMarket") if e.get("type") == "function" and e["name"] == "hashJob")
    components = fn["inputs"][1]["components"]
    names = [c["name"] for c in components]
    expected = ["customer", "token", "node", "royaltyReceiver", "amount", "royalty", "collateral", "bond",
                "feeBps", "deliveryWindow", "reviewWindow", "deadline", "targetNode", "key"]
    if names != expected:  # the Python model must follow the Solidity struct
        raise RuntimeError(f"Job struct in the ABI changed: {names}; update fabrica.protocol.types.Job")
    return "(" + ",".join(c["type"] for c in components) + ")"


class DisputeStage(enum.IntEnum):
    """Mirror of Solidity `IJobMarketTypes.DisputeStage`: where a disputed job's dispute stands."""

    NONE = 0
    AWAITING_ARBITER = 1  # the assigned arbiter rules by the deadline, else anyone applies the default ruling
    RULED = 2  # the arbiter ruled (or the default applied); either side may appeal until the deadline
    APPEALED = 3  # the appeal court (the DAO) rules by the deadline, else the ruling stands


class DisputeInfo(BaseModel):
    """A dispute's state (JobMarket `disputeOf`): the judge now in charge, its deadline and the ruling so far."""

    model_config = ConfigDict(frozen=True)

    stage: DisputeStage = DisputeStage.NONE
    judge: str = ZERO_ADDRESS  # the assigned arbiter (a panel member), then, once appealed, the appeal court
    deadline: int = 0  # rule-by while awaiting a judge, appeal-by once ruled
    refund_bps: int = 0  # the ruling (the arbiter's, or the default), once RULED
    slash_bps: int = 0
    appellant: str = ZERO_ADDRESS  # who appealed and posted the bond
    arbiter: str = ZERO_ADDRESS  # the arbiter assigned at opening (or on reassignment); zero once the default applied

    @property
    def default_ruling(self) -> bool:
        """Whether the ruling is the default one (the arbiter stayed silent past its deadline)."""
        return self.stage in (DisputeStage.RULED, DisputeStage.APPEALED) and int(self.arbiter, 16) == 0


class Evidence(BaseModel):
    """A document put on record for a dispute (ArbiterPanel `EvidenceSubmitted`), by CID."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    party: str  # who submitted it (readers weigh the customer's and the node's)
    cid: str
    block_number: int
    tx_hash: str
    timestamp: int = 0  # the block's time


class Resolution(BaseModel):
    """How a dispute ended (JobMarket `JobResolved`), amounts in the job's token (slashes in FAB)."""

    model_config = ConfigDict(frozen=True)

    by: str  # the judge whose ruling applied; the zero address for the default ruling
    refund_bps: int
    slash_bps: int
    customer_refund: int
    node_payout: int
    fee: int
    royalty: int
    slashed: int  # FAB taken from the node's collateral
    compensation: int  # FAB of it credited to the customer


class JobRecord(BaseModel):
    """A job as the SDK reconstructs it from the chain: id, status, struct and the CIDs around it."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    status: JobStatus
    job: Job
    spec_cid: str
    design_id: int = 0
    node_id: int | None = None
    proof_cid: str | None = None
    reason_cid: str | None = None
    posted_block: int
    updated_block: int
    claimed_at: int | None = None  # when the current claim was made (None while open)
    hand_backs: int = 0  # how often a node gave the job back
    order_hash: bytes | None = None  # the signed order's EIP-712 digest, for jobs created by `take`
    dispute: DisputeInfo | None = None  # the dispute as its events left it; None when never disputed
    reassignments: int = 0  # how often the dispute got a new arbiter because its own left the panel
    resolution: Resolution | None = None  # how the dispute ended, once RESOLVED


class Node(BaseModel):
    """A registered fabrication node (NodeRegistry.Node)."""

    model_config = ConfigDict(frozen=True)

    node_id: int
    operator: str
    processes: ProcessKind
    materials: Material
    active: bool
    build_volume_mm: tuple[int, int, int]
    encryption_key: bytes
    metadata_cid: str


class Stake(BaseModel):
    """An operator's stake (NodeRegistry.Stake), in FAB wei."""

    model_config = ConfigDict(frozen=True)

    staked: int  # bonded: backs new claims
    locked: int  # collateral the market holds in unfinished jobs (may exceed `staked` while unbonding)
    unbonding: int  # pending unbond requests, each with its own release time; slashable until withdrawn
    unbond_at: int  # release time of the oldest pending request (0 = none)

    @property
    def free(self) -> int:
        """Bonded stake not locked as collateral: what new claims can lock."""
        return max(0, self.staked - self.locked)


class Tolerance(BaseModel):
    """Dimensional tolerance the part must meet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    linear_mm: Annotated[float, Field(gt=0, le=10)] = 0.2
    flatness_mm: Annotated[float, Field(gt=0, le=10)] | None = None


class SpecFile(BaseModel):
    """One file of a job: its CID, name and role (model, drawing, gcode…)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cid: str
    name: Annotated[str, Field(min_length=1, max_length=255)]
    role: Annotated[str, Field(pattern=r"^(model|drawing|gcode|toolpath|image|other)$")] = "model"
    sealed: bool = False  # sealed to the claiming node's key (private design)
    size: Annotated[int, Field(ge=0)] | None = None

    @field_validator("cid")
    @classmethod
    def _valid_cid(cls, v: str) -> str:
        from .storage.cid import Cid

        return str(Cid.parse(v))


class JobSpec(BaseModel):
    """What to make: stored as JSON content and referenced on chain by its CID."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    title: Annotated[str, Field(min_length=1, max_length=200)]
    process: ProcessKind
    material: Material
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    tolerance: Tolerance = Tolerance()
    files: Annotated[list[SpecFile], Field(min_length=1)]
    bounding_box_mm: tuple[float, float, float] | None = None
    notes: Annotated[str, Field(max_length=5000)] = ""
    ship_by: datetime | None = None

    @field_validator("process", "material", mode="before")
    @classmethod
    def _flag_by_name(cls, v, info):
        if isinstance(v, str):
            return parse_flags(ProcessKind if info.field_name == "process" else Material, v)
        return v

    @model_validator(mode="after")
    def _single_flags(self) -> JobSpec:
        from .errors import FabricaValueError

        for name in ("process", "material"):
            value = int(getattr(self, name))
            if value == 0 or value & (value - 1):
                raise FabricaValueError(f"JobSpec.{name} must name exactly one {name}")
        if self.ship_by is not None and self.ship_by.tzinfo is None:
            object.__setattr__(self, "ship_by", self.ship_by.replace(tzinfo=UTC))
        return self

    def to_json_bytes(self) -> bytes:
        """Canonical JSON bytes (sorted keys, no spaces): the same spec always has the same CID."""
        import json

        data = self.model_dump(mode="json")
        data["process"] = ProcessKind(self.process).name
        data["material"] = Material(self.material).name
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> JobSpec:
        """Parse spec JSON as fetched from content storage."""
        return cls.model_validate_json(data)


def to_units(amount: str | int | Decimal, decimals: int) -> int:
    """'12.5' with 6 decimals -> 12500000; more precision than the token has is an error."""
    from .errors import FabricaValueError

    try:
        d = Decimal(str(amount))
    except Exception:
        raise FabricaValueError(f"amount {amount!r} is not a number") from None
    if not d.is_finite():  # NaN and Infinity parse as Decimals but are no amount
        raise FabricaValueError(f"amount {amount!r} is not a number")
    if d.adjusted() + decimals > 77:  # beyond any uint256 (and int() of 1e999999999 would never finish)
        raise FabricaValueError(f"amount {amount} is too large for a token amount")
    scaled = d * (Decimal(10) ** decimals)
    if scaled != scaled.to_integral_value() or d < 0:
        raise FabricaValueError(f"amount {amount} must be non-negative with at most {decimals} decimals")
    return int(scaled)


def from_units(value: int, decimals: int) -> Decimal:
    """12500000 with 6 decimals -> Decimal('12.5'); 1500 whole units print as '1500', not '1.5E+3'."""
    if not value:
        return Decimal(0)
    return Decimal(format((Decimal(value) / (Decimal(10) ** decimals)).normalize(), "f"))


def format_units(value: int, decimals: int) -> str:
    """12500000 with 6 decimals -> '12.5'; never scientific notation (1 wei of FAB -> '0.000000000000000001')."""
    return format(from_units(value, decimals), "f")
