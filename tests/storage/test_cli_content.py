"""`fabrica content add|get|cid` through typer's CliRunner, with the local store and FakeKubo."""
from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
from fabrica.protocol.cli.content import app
from fabrica.protocol.storage import LocalContentStore, generate_keypair, unseal
from typer.testing import CliRunner

HELLO = b"hello world\n"
HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"  # kubo docs/changelogs/v0.4.md
HELLO_V1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"  # boxo car-file test

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FABRICA_CONTENT_DIR", raising=False)
    monkeypatch.delenv("FABRICA_KUBO_URL", raising=False)


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A file holding "hello world\\n"."""
    path = tmp_path / "hello.txt"
    path.write_bytes(HELLO)
    return path


def test_cid_computes_without_storing(hello: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["cid", str(hello)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == HELLO_V0
    result = runner.invoke(app, ["cid", str(hello), "--cid-version", "1", "--json"])
    assert json.loads(result.output) == {
        "cid": HELLO_V1, "cid_version": 1, "file": str(hello), "size": 12,
    }
    assert not (tmp_path / ".fabrica").exists()


def test_add_then_get_with_a_local_store(hello: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = runner.invoke(app, ["add", str(hello), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == HELLO_V0
    result = runner.invoke(app, ["get", HELLO_V0, "--store", str(store)])
    assert result.exit_code == 0 and result.stdout_bytes == HELLO
    out = tmp_path / "out" / "copy.txt"
    out.parent.mkdir()
    result = runner.invoke(app, ["get", f"/ipfs/{HELLO_V0}", "-o", str(out), "--store", str(store),
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == HELLO
    assert json.loads(result.output)["size"] == 12
    assert not list(out.parent.glob("*.part"))


def test_get_writes_to_a_positional_file_as_its_help_says(hello: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert runner.invoke(app, ["add", str(hello), "--store", str(store)]).exit_code == 0
    out = tmp_path / "copy.txt"
    result = runner.invoke(app, ["get", HELLO_V0, str(out), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == HELLO and result.stdout == ""  # the content went to FILE, not stdout
    result = runner.invoke(app, ["get", HELLO_V0, str(out), "-o", str(tmp_path / "other.txt"), "--store", str(store)])
    assert result.exit_code == 2 and "two outputs" in result.output
    assert not (tmp_path / "other.txt").exists()
    result = runner.invoke(app, ["get", HELLO_V0, str(tmp_path / "no" / "such" / "dir.txt"), "--store", str(store)])
    panel = " ".join(result.output.replace("│", " ").split())  # click's error panel wraps long lines
    assert result.exit_code == 2 and "does not exist; create it first" in panel
    assert not (tmp_path / "no").exists()


def test_seal_to_a_low_order_key_is_refused_in_one_line(hello: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["add", str(hello), "--store", str(tmp_path / "s"), "--seal-to", "00" * 32])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert "not a usable X25519 key" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.data"))


def test_add_json_and_cid_version_1(hello: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["add", str(hello), "--cid-version", "1", "--json",
                                 "--store", str(tmp_path / "s")])
    payload = json.loads(result.output)
    assert payload["cid"] == HELLO_V1 and payload["sealed"] is False and payload["size"] == 12
    assert payload["store"] == f"local:{tmp_path / 's'}"


def test_default_store_is_dot_fabrica_content_or_env(hello: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["add", str(hello)]).exit_code == 0
    assert LocalContentStore(tmp_path / ".fabrica" / "content").get(HELLO_V0) == HELLO
    monkeypatch.setenv("FABRICA_CONTENT_DIR", str(tmp_path / "env-store"))
    assert runner.invoke(app, ["add", str(hello), "--cid-version", "1"]).exit_code == 0
    assert LocalContentStore(tmp_path / "env-store").has(HELLO_V1)


def test_get_json_without_output_embeds_base64(hello: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    runner.invoke(app, ["add", str(hello), "--store", store])
    payload = json.loads(runner.invoke(app, ["get", HELLO_V0, "--json", "--store", store]).output)
    assert base64.b64decode(payload["content_base64"]) == HELLO


def test_seal_to_a_node_key(hello: Path, tmp_path: Path) -> None:
    private, public = generate_keypair()
    store = tmp_path / "s"
    result = runner.invoke(app, ["add", str(hello), "--seal-to", public.hex(), "--json",
                                 "--store", str(store)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["sealed"] is True and payload["plaintext_size"] == 12
    assert payload["cid"] != HELLO_V0
    assert unseal(LocalContentStore(store).get(payload["cid"]), private) == HELLO


def test_kubo_round_trip(hello: Path, fake_kubo, tmp_path: Path) -> None:
    result = runner.invoke(app, ["add", str(hello), "--kubo", fake_kubo.url])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == HELLO_V0
    out = tmp_path / "from-kubo.txt"
    result = runner.invoke(app, ["get", HELLO_V0, "--kubo", fake_kubo.url, "-o", str(out)])
    assert result.exit_code == 0 and out.read_bytes() == HELLO


def test_kubo_from_environment(hello: Path, fake_kubo, monkeypatch) -> None:
    monkeypatch.setenv("FABRICA_KUBO_URL", fake_kubo.url)
    result = runner.invoke(app, ["add", str(hello), "--json"])
    assert json.loads(result.output)["store"] == f"kubo:{fake_kubo.url}"


def test_tampered_kubo_content_fails_and_writes_nothing(hello: Path, fake_kubo, tmp_path) -> None:
    runner.invoke(app, ["add", str(hello), "--kubo", fake_kubo.url])
    fake_kubo.tamper = True
    out = tmp_path / "never.txt"
    result = runner.invoke(app, ["get", HELLO_V0, "--kubo", fake_kubo.url, "-o", str(out)])
    assert result.exit_code == 1
    assert "error:" in result.output and "do not match" in result.output
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_unreachable_kubo_exits_1_with_a_hint(hello: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(app, ["add", str(hello), "--kubo", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert "cannot reach Kubo" in result.output and "ipfs daemon" in result.output


def test_missing_content_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["get", HELLO_V0, "--store", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no content" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "not-a-cid"], "neither a CIDv0"),
        (["cid", "{file}", "--cid-version", "2"], "--cid-version"),
        (["add", "{file}", "--seal-to", "abcd"], "--seal-to"),
        (["add", "{file}", "--store", "x", "--kubo", "http://127.0.0.1:5001"], "not both"),
        (["cid", "/no/such/file"], "does not exist"),
    ],
)
def test_usage_errors_exit_2(hello: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [a.replace("{file}", str(hello)) for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("add", "get", "cid"):
        assert command in result.output
