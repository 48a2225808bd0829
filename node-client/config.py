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
    max_collateral_share = "2"          # optional: collateral worth at most this share of the payment
    fab_prices = { fUSD = "0.5" }       # what 1 FAB is worth in each payment token (for max_collateral_share)
    min_time_left = 3600                # seconds of claim window a job must still have
    time_margin = 1.25                  # the delivery window must hold estimate x quantity x time_margin
    min_slack_s = 1800                  #   + min_slack_s seconds
    unestimated_min_window = 172800     # window a job needs when its time cannot be estimated before the claim
    gateway_url = "https://gw.example"  # optional: push print telemetry and logs there (FABRICA_GATEWAY_URL,
                                        # `fabrica node run --gateway URL` override it)

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
    max_cmd_size = 96                   # Marlin only, when built with another MAX_CMD_SIZE (M115 does not say)

Relative paths are relative to the config file's folder. For users: README.md (section node.toml) and
examples/node.toml, which the tests load.
"""
from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from fabrica.protocol.config import Settings, load_settings
from fabrica.protocol.errors import FabricaError
from fabrica.protocol.types import Material, ProcessKind, parse_flags

from .drivers import firmware_names
from .errors import NodeConfigError
from .slicer import MachineProfile


FORMAT_HELP = "see the node.toml section of README.md, or examples/node.toml"


class MachineConfig(BaseModel):
    """One machine wired to this computer; it is one node on chain."""

    # strict: `baud = true` or `baud = "fast"` is a mistake to report, not a value to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    port: Annotated[str, Field(min_length=1)]
    baud: int = 115200
    firmware: str = "marlin"
    profile: Annotated[str, Field(min_length=1)] = "generic-fdm-250"
    process: str = "FDM"
    materials: Annotated[list[str], Field(min_length=1)] | None = None
    node_id: Annotated[int, Field(ge=1)] | None = None
    boot_wait: Annotated[float, Field(ge=0)] = 2.0
    connect_timeout: Annotated[float, Field(gt=0)] = 30.0
    print_timeout: Annotated[float, Field(gt=0)] = 86_400.0
    max_cmd_size: int | None = None  # Marlin built with a MAX_CMD_SIZE other than 96 (M115 does not report it)

    @field_validator("max_cmd_size")
    @classmethod
    def _max_cmd_size(cls, v: int | None, info: ValidationInfo) -> int | None:
        from .limits import check_max_cmd_size

        return check_max_cmd_size(v, info.data.get("firmware", "marlin"), "max_cmd_size")

    @field_validator("baud")
    @classmethod
    def _baud(cls, v: int) -> int:
        from .limits import check_baud

        return check_baud(v, "baud")

    @field_validator("materials")
    @classmethod
    def _materials(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            known = {m.name for m in Material if m.name}
            unknown = [m for m in v if m.upper() not in known]
            if unknown:
                raise ValueError(f"unknown material(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return v

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

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    state_db: Annotated[Path, Field(strict=False)] | None = None
    encryption_key_file: Annotated[Path, Field(strict=False)] | None = None
    poll_interval: Annotated[float, Field(gt=0)] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 2
    deactivate_on_abandon: bool = True
    max_collateral: Annotated[Decimal, Field(strict=False, ge=0, allow_inf_nan=False)] = Decimal("100")
    # Collateral valued in the payment token (at fab_prices) may be at most this share of the payment.
    max_collateral_share: Annotated[Decimal, Field(strict=False, gt=0, allow_inf_nan=False)] | None = None
    fab_prices: dict[str, Annotated[Decimal, Field(strict=False, gt=0, allow_inf_nan=False)]] = {}
    min_time_left: Annotated[int, Field(ge=0)] = 3600
    # Delivery window needed: print-time estimate x quantity x time_margin + min_slack_s (see estimate.py).
    time_margin: Annotated[float, Field(ge=1.0, le=100.0)] = 1.25
    min_slack_s: Annotated[int, Field(ge=0)] = 1800
    # A sealed design is read only once claimed, so its time is unknown before the claim: such a job is claimed
    # only with at least this window, and handed back (free, at once) when the estimate then does not fit.
    unestimated_min_window: Annotated[int, Field(ge=0)] = 172_800
    # The gateway that takes this node's signed telemetry (telemetry_push.py); None: telemetry stays local.
    gateway_url: str | None = None

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, v: str | None) -> str | None:
        from .telemetry_push import check_gateway_url

        try:
            return None if v is None else check_gateway_url(v)
        except NodeConfigError as exc:
            raise ValueError(str(exc)) from None


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
    """Read `node.toml`; flags and FABRICA_* variables override its [fabrica] section. Every field is checked."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NodeConfigError(f"node config {path} does not exist; write one ({FORMAT_HELP})") from None
    except IsADirectoryError:
        raise NodeConfigError(f"node config {path} is a folder; pass the node.toml file in it") from None
    except UnicodeDecodeError:
        raise NodeConfigError(f"node config {path} is not UTF-8 text; a node.toml is TOML ({FORMAT_HELP})") from None
    except OSError as exc:
        raise NodeConfigError(f"node config {path} cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise NodeConfigError(f"node config {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"fabrica", "node", "machines"}
    if unknown:
        raise NodeConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                              f"known: [fabrica], [node], [[machines]] ({FORMAT_HELP})")
    base = path.resolve().parent
    fabrica_section = data.get("fabrica", {})
    if not isinstance(fabrica_section, dict):
        raise NodeConfigError(f"{path}: fabrica must be a [fabrica] table of chain settings ({FORMAT_HELP})")
    _validated(path, "fabrica", Settings, fabrica_section)  # the file's own values, named by their key
    fabrica_section = dict(fabrica_section)
    if "home" in fabrica_section and not Path(fabrica_section["home"]).is_absolute():
        fabrica_section["home"] = str(base / fabrica_section["home"])
    import tempfile

    # load_settings reads a TOML file; hand it just the [fabrica] section so flags and env still win.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as tmp:
        tmp.write("[fabrica]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in fabrica_section.items()))
    try:
        settings = load_settings(config=tmp.name, **flags)
    except FabricaError as exc:  # only a flag or a FABRICA_* variable can be wrong here: the file was checked
        cause = exc.__cause__
        if isinstance(cause, ValidationError):
            first = cause.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise NodeConfigError(f"setting {key} (from a flag or FABRICA_{key.upper()}): "
                                  f"{first['msg'].removeprefix('Value error, ')}") from None
        raise
    finally:
        Path(tmp.name).unlink()
    machines_raw = data.get("machines", [])
    if not isinstance(machines_raw, list):
        raise NodeConfigError(f"{path}: machines must be written as [[machines]] tables, one per machine "
                              f"({FORMAT_HELP})")
    if not machines_raw:
        raise NodeConfigError(f"{path}: add at least one [[machines]] table (name, port, profile) "
                              f"({FORMAT_HELP})")
    node = _validated(path, "node", NodeOptions, data.get("node", {}))
    machines = [_validated(path, f"machines.{i}", MachineConfig, m) for i, m in enumerate(machines_raw)]
    names = [m.name for m in machines]
    if len(set(names)) != len(names):
        raise NodeConfigError(f"{path}: machine names must be unique, got {names}")
    for i, m in enumerate(machines):  # a profile or material that cannot work is a config error, found now
        try:
            profile = m.load_profile(base)
        except NodeConfigError as exc:
            raise NodeConfigError(f"{path}: machines.{i}.profile: {exc}") from None
        try:
            m.material_names(profile)
        except (NodeConfigError, ValueError) as exc:
            raise NodeConfigError(f"{path}: {exc}") from None
    return NodeConfig(settings=settings, node=node, machines=machines, base_dir=base)


def _validated(path: Path, section: str, model: type[BaseModel], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise NodeConfigError(f"{path}: {section} must be a table ({FORMAT_HELP})")
    try:
        return model(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join([section, *(str(p) for p in first["loc"])])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown key; known: {', '.join(model.model_fields)}"
        elif first["type"] == "missing":
            msg = f"is required ({FORMAT_HELP})"
        elif first["type"] != "value_error" and "input" in first and not isinstance(first["input"], dict):
            msg = f"{msg} (got {first['input']!r})"
        raise NodeConfigError(f"{path}: {where}: {msg}") from None


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
