"""docs/cli/*-help.txt are the current --help of every command (STYLE: keep them current)."""

import pathlib
import re

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


@pytest.mark.parametrize("command", sorted(_commands()[1]))
def test_help_shows_every_default_and_what_is_written(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option
    _, commands = _commands()
    parser = commands[command]
    text = parser.format_help()
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            # An option's block: its line and the indented help lines below it.
            lines = text.split("\noptions:\n")[1].splitlines()
            start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(action.option_strings[0] + " "))
            stop = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("-")), len(lines))
            block = " ".join(lines[start:stop])
            assert "default" in block, f"{command} {action.option_strings[0]} hides its default {action.default!r}"
    assert "write" in parser.description.lower(), f"{command} --help does not say what it writes"


def test_train_help_states_the_optimisation_defaults():
    from mindgencast.training.trainer import TrainConfig

    text = " ".join(_commands()[1]["train"].format_help().split())
    defaults = TrainConfig()
    assert float(re.search(r"floor of ([0-9.e-]+\d)", text).group(1)) == defaults.min_learning_rate
    assert float(re.search(r"global norm of ([0-9.e-]+\d)", text).group(1)) == defaults.max_grad_norm
    for option, value in (("--lr", defaults.learning_rate), ("--warmup-steps", defaults.warmup_steps),
                          ("--weight-decay", defaults.weight_decay)):
        assert f"{option} {option[2:].upper().replace('-', '_')} " in text and f"(default: {value:g})" in text
