"""DESIGN.md's dependency rule: components import `fabrica.protocol`, never each other; protocol imports no component."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = {
    "miners": "fabrica.miners",
    "validators": "fabrica.validators",
    "indexer": "fabrica.indexer",
    "gateway": "fabrica.gateway",
    "node-client": "fabrica.node_client",
    "protocol": "fabrica.protocol",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(COMPONENTS))
def test_components_only_import_protocol(folder: str) -> None:
    own = COMPONENTS[folder]
    others = [pkg for pkg in COMPONENTS.values() if pkg not in (own, "fabrica.protocol")]
    if folder == "protocol":
        others = [pkg for pkg in COMPONENTS.values() if pkg != own]
    if folder == "gateway":  # DESIGN.md's one exception: the gateway reads the indexer's read model
        others.remove("fabrica.indexer")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in _imports(path)
        if any(name == pkg or name.startswith(pkg + ".") for pkg in others)
    ]
    assert offenders == []
