"""`node.toml`: the shop's machines and the job loop's policy, on top of the SDK's chain settings.

    [fabrica]                    # chain settings (fabrica.protocol.config.Settings); FABRICA_* env overrides
    rpc_url = "http://127.0.0.1:8545"
    home = ".fabrica"
    account = "shop"             # dev role, dev index or keystore path (password from FABRICA_PASSWORD)

    [node]
    state_db = "node-state.sqlite"      # default: <home>/node/state.sqlite
    encryption_key_file = "node.key"    # X25519 private key (hex), created 0600 when missing
    poll_interval = 5.0                 # seconds between looks at the open jobs
    max_attempts = 2                    # prints of one job before it is abandoned
    deactivate_on_abandon = true        # take the machine's node out of service when a job is abandoned
    max_collateral = "100"              # FAB a job may lock at most (whole tokens, decimal string)
    min_time_left = 3600                # seconds of claim window a job must still have

    [[machines]]
    name = "mk4-1"
    port = "/dev/ttyACM0"
    baud = 115200
    firmware = "marlin"
    profile = "generic-fdm-250"         # shipped profile name or a path to a PrusaSlicer .ini
    process = "FDM"
    materials = ["PLA", "PETG"]         # default: the profile's fabrica.materials
    node_id = 3                         # optional: update this registered node instead of registering one
    boot_wait = 2.0
    print_timeout = 86400

Relative paths are relative to the config file's folder.
"""
from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fabrica.protocol.config import Settings, load_settings
from fabrica.protocol.types import Material, ProcessKind, parse_flags

from .drivers import firmware_names
from .errors import NodeConfigError
from .slicer import MachineProfile


class MachineConfig(BaseModel):
    """One machine wired to this computer; it is one node on chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    port: str
    baud: int = 115200
    firmware: str = "marlin"
    profile: str = "generic-fdm-250"
    process: str = "FDM"
    materials: list[str] | None = None
    node_id: int | None = None
    boot_wait: float = 2.0
    connect_timeout: float = 30.0
    print_timeout: float = 86_400.0

    @field_validator("firmware")
    @classmethod
    def _firmware(cls, v: str) -> str:
        if v not in firmware_names():
            raise ValueError(f"firmware must be one of {', '.join(firmware_names())}")
        return v

    @field_validator("process")
    @classmethod
    def _process(cls, v: str) -> str:
        value = int(parse_flags(ProcessKind, v))
        if value == 0 or value & (value - 1):
            raise ValueError("process must name exactly one process, e.g. FDM")
        return ProcessKind(value).name  # type: ignore[return-value]

    def load_profile(self, base: Path) -> MachineProfile:
        p = Path(self.profile)
        return MachineProfile.load(base / p if p.suffix and not p.is_absolute() else p)

    def material_names(self, profile: MachineProfile) -> tuple[str, ...]:
        names = tuple(m.upper() for m in (self.materials or profile.materials))
        parse_flags(Material, list(names))  # unknown names are an error
        missing = [m for m in names if m not in profile.materials]
        if missing:
            raise NodeConfigError(f"machines.{self.name}.materials: {', '.join(missing)} has no settings in "
                                  f"profile {profile.name!r} (it has {', '.join(profile.materials)})")
        return names


class NodeOptions(BaseModel):
    """The job loop's policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_db: Path | None = None
    encryption_key_file: Path | None = None
    poll_interval: Annotated[float, Field(gt=0)] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 2
    deactivate_on_abandon: bool = True
    max_collateral: Decimal = Decimal("100")
    min_time_left: Annotated[int, Field(ge=0)] = 3600


class NodeConfig(BaseModel):
    """The whole file, resolved."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    settings: Settings
    node: NodeOptions
    machines: list[MachineConfig]
    base_dir: Path

    @property
    def state_db(self) -> Path:
        return self._path(self.node.state_db) or self.settings.home / "node" / "state.sqlite"

    @property
    def key_file(self) -> Path:
        return self._path(self.node.encryption_key_file) or self.settings.home / "node" / "encryption.key"

    def _path(self, p: Path | None) -> Path | None:
        if p is None:
            return None
        return p if p.is_absolute() else self.base_dir / p


def load_node_config(path: Path | str, **flags: Any) -> NodeConfig:
    """Read `node.toml`; flags and FABRICA_* variables override its [fabrica] section."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise NodeConfigError(f"node config {path} does not exist; see `fabrica node run --help` for its format") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise NodeConfigError(f"node config {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"fabrica", "node", "machines"}
    if unknown:
        raise NodeConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                              "known: fabrica, node, machines")
    base = path.resolve().parent
    fabrica_section = dict(data.get("fabrica", {}))
    if "home" in fabrica_section and not Path(fabrica_section["home"]).is_absolute():
        fabrica_section["home"] = str(base / fabrica_section["home"])
    import tempfile

    # load_settings reads a TOML file; hand it just the [fabrica] section so flags and env still win.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as tmp:
        tmp.write("[fabrica]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in fabrica_section.items()))
    try:
        settings = load_settings(config=tmp.name, **flags)
    finally:
        Path(tmp.name).unlink()
    machines_raw = data.get("machines", [])
    if not machines_raw:
        raise NodeConfigError(f"{path}: add at least one [[machines]] table (name, port, profile)")
    node = _validated(path, "node", NodeOptions, data.get("node", {}))
    machines = [_validated(path, f"machines.{i}", MachineConfig, m) for i, m in enumerate(machines_raw)]
    names = [m.name for m in machines]
    if len(set(names)) != len(names):
        raise NodeConfigError(f"{path}: machine names must be unique, got {names}")
    return NodeConfig(settings=settings, node=node, machines=machines, base_dir=base)


def _validated(path: Path, section: str, model: type[BaseModel], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise NodeConfigError(f"{path}: {section} must be a table")
    try:
        return model(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join([section, *(str(p) for p in first["loc"])])
        msg = first["msg"].removeprefix("Value error, ")
        raise NodeConfigError(f"{path}: {where}: {msg}") from None


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
