"""docs/cli/*-help.txt are the current --help of every command (STYLE: keep them current)."""

import pathlib

import pytest

from mindgencast.cli.main import build_parser

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "cli"


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return parser, sub.choices


def test_every_command_has_a_help_file(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    parser, commands = _commands()
    assert (DOCS / "mindgencast-help.txt").read_text() == parser.format_help()
    assert {p.name for p in DOCS.glob("*-help.txt")} == {f"{c}-help.txt" for c in commands} | {"mindgencast-help.txt"}


@pytest.mark.parametrize("command", sorted(_commands()[1]))
def test_help_file_is_current(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _, commands = _commands()
    assert (DOCS / f"{command}-help.txt").read_text() == commands[command].format_help(), (
        f"regenerate: COLUMNS=80 mindgencast {command} --help > docs/cli/{command}-help.txt")
