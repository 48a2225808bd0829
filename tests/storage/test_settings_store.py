"""Settings pick the content store: the local store by default, Kubo when `kubo_url` is set."""
from __future__ import annotations

from pathlib import Path

from fabrica.protocol.config import load_settings
from fabrica.protocol.storage import compute_cid
from fabrica.protocol.storage.kubo import KuboContentStore
from fabrica.protocol.storage.store import LocalContentStore


def test_default_is_the_local_store_under_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FABRICA_KUBO_URL", raising=False)
    store = load_settings(home=str(tmp_path / "h")).content_store()
    assert isinstance(store, LocalContentStore)
    cid = store.add(b"spec")
    assert (tmp_path / "h" / "content").is_dir() and store.get(cid) == b"spec"


def test_kubo_url_routes_content_through_kubo(tmp_path: Path, monkeypatch, fake_kubo) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FABRICA_KUBO_URL", fake_kubo.url)
    store = load_settings(home=str(tmp_path / "h")).content_store()
    assert isinstance(store, KuboContentStore)
    cid = store.add(b"a part file")
    assert cid == compute_cid(b"a part file")
    assert store.get(cid) == b"a part file"
    assert not (tmp_path / "h" / "content").exists()  # nothing went to the local store


def test_content_cli_uses_the_same_home_as_the_other_commands(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from fabrica.protocol.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FABRICA_CONTENT_DIR", raising=False)
    monkeypatch.delenv("FABRICA_KUBO_URL", raising=False)
    monkeypatch.setenv("FABRICA_HOME", str(tmp_path / "shop-home"))
    part = tmp_path / "part.stl"
    part.write_bytes(b"solid part\nendsolid part\n")
    result = CliRunner().invoke(app, ["content", "add", str(part)])
    assert result.exit_code == 0, result.output
    cid = result.output.strip().splitlines()[-1]
    # `fabrica job post` and `fabrica node register` read the store through Settings: same place.
    assert load_settings().content_store().get(cid) == part.read_bytes()
    assert (tmp_path / "shop-home" / "content").is_dir()
    assert not (tmp_path / ".fabrica").exists()
