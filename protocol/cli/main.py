"""The `fabrica` command: one CLI, `fabrica <component> <verb>`.

Every command group is imported only when it runs: `fabrica --help` lists the groups with the help text read
from their source, so no command pays for the imports (web3, SQLAlchemy, OR-Tools…) of another.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import cache
from importlib.metadata import entry_points
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup


# The built-in groups and commands, in the order `fabrica --help` lists them ("module:attribute", as in an
# entry point). Components outside fabrica.protocol add their own groups through the `fabrica.cli` entry-point
# group, so the dependency arrows keep pointing at fabrica.protocol.
BUILTIN = {
    "devnet": "fabrica.protocol.cli.devnet:app",
    "job": "fabrica.protocol.cli.job:app",
    "dao": "fabrica.protocol.cli.dao:app",
    "dispute": "fabrica.protocol.cli.dispute:app",
    "node": "fabrica.protocol.cli.node:app",
    "account": "fabrica.protocol.cli.account:app",
    "subnet": "fabrica.protocol.cli.subnet:app",
    "design": "fabrica.protocol.cli.design:app",
    "bounty": "fabrica.protocol.cli.bounty:app",
    "content": "fabrica.protocol.cli.content:app",
    "demo": "fabrica.protocol.cli.demo:demo",
}


def lazy_entries() -> dict[str, str | None]:
    """Every group's name and where it lives, built-in first, then the `fabrica.cli` entry points (not loaded)."""
    entries = dict(BUILTIN)
    for ep in entry_points(group="fabrica.cli"):
        entries[ep.name] = ep.value
    return entries


@cache
def static_help(target: str) -> str:
    """The help of a Typer app (`help=` of its `typer.Typer(...)`) or a command function (its docstring),
    read from the module's source without importing it."""
    module, _, attr = target.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return ""
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read(), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr:
            return ast.get_docstring(node) or ""
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in node.targets)
                and isinstance(node.value, ast.Call)):
            for kw in node.value.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    return kw.value.value
    return ""


class Unloaded(TyperCommand):
    """Stands for a group in `fabrica --help` and in suggestions until the group is invoked."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name=name, help=static_help(target))
        self.target = target


_extended: set[str] = set()


def load(name: str, target: str) -> _click.Command:
    """Import a group (or a single command) and turn it into its click command."""
    module, _, attr = target.partition(":")
    obj: Any = getattr(importlib.import_module(module), attr)
    if isinstance(obj, typer.Typer):
        # `fabrica.cli.<group>` entry points are typer apps whose commands join that group (the node client's
        # `print` and `probe` join `fabrica node`); they load with the group they join, once per process.
        if name not in _extended:
            _extended.add(name)
            for ep in entry_points(group=f"fabrica.cli.{name}"):
                obj.registered_commands.extend(ep.load().registered_commands)
        command: _click.Command = typer.main.get_group(obj)
    else:
        single = typer.Typer()
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists every group from names and source-read help, imports one when it runs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        defined = dict(self.commands)
        self.commands = {}
        for name, target in lazy_entries().items():
            if target is None:
                self.commands[name] = defined.pop(name)
            else:
                self.commands[name] = Unloaded(name, target)
        self.commands.update(defined)
        self._listing = False

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        """The group named `cmd_name`, imported now unless help is only listing it."""
        cmd = self.commands.get(cmd_name)
        if isinstance(cmd, Unloaded) and not self._listing:
            cmd = self.commands[cmd_name] = load(cmd_name, cmd.target)
        return cmd

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """Help for `fabrica` itself, without importing any group."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def shell_complete(self, ctx: _click.Context, incomplete: str) -> list[Any]:
        """Complete group names without importing any group (a group completing its own verbs is loaded)."""
        self._listing = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    help="Fabrica: a blockchain-native marketplace for digital fabrication.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def fabrica() -> None:
    """Fabrica: a blockchain-native marketplace for digital fabrication."""
    # Every group loads lazily (LazyGroup): this callback only makes `app` a group typer can build.


def main() -> None:
    """Entry point of the `fabrica` console script."""
    app()
