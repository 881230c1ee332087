"""Every command has help, is in docs/cli.md, and docs/cli.md is what the code generates."""

from __future__ import annotations

from pathlib import Path

import click

from drivestats.cli import COMMANDS, cli
from drivestats.cli.reference import reference, undocumented

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_every_registered_command_loads_and_has_help():
    context = click.Context(cli)
    loaded = cli.list_commands(context)
    assert sorted(loaded) == sorted(COMMANDS), "a command module is missing"
    assert undocumented() == []


def test_docs_cli_md_is_current():
    assert DOCS.read_text() == reference(), "run: python -m drivestats.cli.reference > docs/cli.md"


def test_every_command_takes_home_after_its_name():
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert any("--home" in p.opts for p in command.params), name
