"""Entry point of the ``mindgencast`` command.

Subcommands live one per module in :mod:`mindgencast.cli.commands`; each module
defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
They are discovered, so adding a command never edits this file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mindgencast.version import __version__

__all__ = ["build_parser", "main", "HelpFormatter"]


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every command's help: descriptions as written, and each option's default shown.

    Like argparse's ``ArgumentDefaultsHelpFormatter``, but without ``(default: None)`` /
    ``(default: False)`` noise and without repeating a default the help text already
    explains.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if _shows_default(action) and "default" not in text.lower():
            text += " (default: %(default)s)"
        return text.strip()


def _shows_default(action) -> bool:
    return (
        action.option_strings
        and not action.required
        and action.default is not None
        and action.default is not False
        and action.default != argparse.SUPPRESS
        and not isinstance(action, argparse._HelpAction)
    )


def _command_modules():
    from mindgencast.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"mindgencast.cli.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mindgencast",
        description="GenCast diffusion ensemble weather forecasting in MindSpore.",
    )
    parser.add_argument("--version", action="version", version=f"mindgencast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__, formatter_class=HelpFormatter)
        module.add_arguments(p)
        for action in p._actions:
            if action.help is None and _shows_default(action):
                action.help = "(default: %(default)s)"
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except (UserError, ValueError, OSError) as e:
        message = e
        print(f"mindgencast {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
