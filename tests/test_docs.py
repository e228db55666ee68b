"""The README documents every command, and every command has help text."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from watcher.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented(name: str) -> None:
    command = cli.commands[name]
    assert f"`watcher {name}" in README, f"README does not show `watcher {name}`"
    assert command.help and command.help.strip(), f"watcher {name} has no help text"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            assert sub.help, f"watcher {name} {sub.name} has no help text"
