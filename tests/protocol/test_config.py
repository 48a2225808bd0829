"""Settings precedence: flag > FABRICA_* environment > fabrica.toml > defaults; typos are errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from fabrica.protocol.config import Settings, load_settings, parse_duration
from fabrica.protocol.errors import FabricaValueError


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_any_source(in_tmp: Path) -> None:
    s = load_settings()
    assert s == Settings()
    assert s.rpc_url == "http://127.0.0.1:8545" and s.home == Path(".fabrica")
    assert s.deployments_dir == Path(".fabrica/deployments")


def test_flag_beats_env_beats_toml(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "fabrica.toml").write_text(
        'rpc_url = "http://toml:1"\nhome = "/from/toml"\naccount = "shop"\nreceipt_timeout = 7.5\n'
    )
    s = load_settings()
    assert (s.rpc_url, s.home, s.account, s.receipt_timeout) == ("http://toml:1", Path("/from/toml"), "shop", 7.5)

    monkeypatch.setenv("FABRICA_RPC_URL", "http://env:2")
    monkeypatch.setenv("FABRICA_RECEIPT_TIMEOUT", "3")
    s = load_settings()
    assert s.rpc_url == "http://env:2" and s.receipt_timeout == 3.0
    assert s.home == Path("/from/toml")  # not overridden by env

    s = load_settings(rpc_url="http://flag:3", home=None, account="customer")
    assert s.rpc_url == "http://flag:3"  # flag wins
    assert s.account == "customer"
    assert s.home == Path("/from/toml")  # a None flag means "not given"


def test_fabrica_section_and_explicit_config_path(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = in_tmp / "elsewhere.toml"
    cfg.write_text('[fabrica]\nrpc_url = "http://section:4"\n')
    assert load_settings(config=str(cfg)).rpc_url == "http://section:4"
    monkeypatch.setenv("FABRICA_CONFIG", str(cfg))
    assert load_settings().rpc_url == "http://section:4"


def test_unknown_toml_key_is_an_error(in_tmp: Path) -> None:
    (in_tmp / "fabrica.toml").write_text('rpc_url = "http://x:1"\nrcp_timeout = 3\n')
    with pytest.raises(FabricaValueError, match="unknown setting.*rcp_timeout") as exc:
        load_settings()
    assert "rpc_url" in str(exc.value)  # lists the known ones


def test_invalid_toml_and_bad_values(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "fabrica.toml").write_text("rpc_url = \n")
    with pytest.raises(FabricaValueError, match="not valid TOML"):
        load_settings()
    (in_tmp / "fabrica.toml").unlink()
    monkeypatch.setenv("FABRICA_RECEIPT_TIMEOUT", "soon")
    with pytest.raises(FabricaValueError, match="bad setting"):
        load_settings()


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("3h", 10_800), ("2d", 172_800),
                                               ("1w", 604_800), ("45", 45)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_a_named_config_file_must_exist(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "fabrica.toml").write_text('rpc_url = "http://default:1"\n')
    monkeypatch.setenv("FABRICA_CONFIG", str(in_tmp / "fabirca.toml"))  # a typo must not fall back silently
    with pytest.raises(FabricaValueError) as exc:
        load_settings()
    assert str(exc.value) == (f"config file {in_tmp / 'fabirca.toml'} named by FABRICA_CONFIG does not exist; "
                              "fix the path or unset FABRICA_CONFIG to use ./fabrica.toml")
    monkeypatch.setenv("FABRICA_CONFIG", str(in_tmp))
    with pytest.raises(FabricaValueError, match="is not a file"):
        load_settings()
    monkeypatch.delenv("FABRICA_CONFIG")
    with pytest.raises(FabricaValueError, match="does not exist; fix the path$"):
        load_settings(config=str(in_tmp / "missing.toml"))
    assert load_settings().rpc_url == "http://default:1"  # only the default file is optional


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "inf", "nan", "1e999d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(FabricaValueError, match="duration"):
        parse_duration(text)
