"""Print the gateway's role matrix as the README's Markdown table (`--check README.md` fails when it differs)."""
from __future__ import annotations

import sys
from pathlib import Path

BEGIN = "<!-- role-matrix:begin (scripts/role_matrix.py) -->"
END = "<!-- role-matrix:end -->"


def table() -> str:
    """The endpoints × roles table, one row per endpoint, ✓ where a role is allowed."""
    from fabrica.gateway.roles import ROLES, matrix
    from fabrica.gateway.routes_table import route_app

    roles = [r for r in ROLES if r != "public"]
    short = {"account": "signed in", "node_operator": "node operator", "design_owner": "design owner"}
    head = "| endpoint | public | " + " | ".join(short.get(r, r) for r in roles) + " |"
    lines = [head, "| --- " * (len(roles) + 2) + "|"]
    for method, path, allowed in matrix(route_app()):
        if "public" in allowed:
            cells = ["✓"] + [""] * len(roles)
        else:
            cells = [""] + ["✓" if r in allowed else "" for r in roles]
        lines.append(f"| `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    text = table()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        readme = Path(sys.argv[2]).read_text()
        inside = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip() if BEGIN in readme else ""
        if inside != text:
            sys.exit(f"{sys.argv[2]}'s role matrix is stale: run `python scripts/role_matrix.py --write README.md`")
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        readme = path.read_text()
        before, rest = readme.split(BEGIN, 1)
        _old, after = rest.split(END, 1)
        path.write_text(f"{before}{BEGIN}\n{text}\n{END}{after}")
        return
    print(text)


if __name__ == "__main__":
    main()
