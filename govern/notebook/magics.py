"""The `%govern` line magic: status, spend, budgets, catalog, env, start, stop.

A bad subcommand or flag prints the usage; an error prints one line. Neither shows a
traceback.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from typing import Any, NoReturn

from govern.errors import GovernError
from govern.notebook import session
from govern.notebook.sources import BudgetsUnavailable, group_by, since, source_for
from govern.notebook.status import status_of, status_widget

USAGE = """\
usage: %govern COMMAND [options]

  status                            the gateway's URL, providers and data directory
  spend [--by team] [--since 1d] [--freq 1h]
                                    spend per group (and period) as a DataFrame;
                                    --by takes team, customer, key, model, provider, ...
  budgets                           every budget tier: limit, spent, remaining, resets
  catalog [QUERY] [--provider P]    priced models (per 1M tokens) matching QUERY
  env [--key KEY]                   export OPENAI_BASE_URL and OPENAI_API_KEY
  start [--config FILE] [--data-dir DIR]
                                    start the embedded gateway (if not running)
  stop                              stop the embedded gateway (its request log flushed)
  help                              this text"""


COMMANDS = ("status", "spend", "budgets", "catalog", "env", "start", "stop", "help")


class UsageError(Exception):
    """The command line does not parse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or "")


def _parser() -> _Parser:
    parser = _Parser(prog="%govern", add_help=False)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in ("status", "budgets", "stop", "help"):
        commands.add_parser(name, add_help=False)
    spend = commands.add_parser("spend", add_help=False)
    spend.add_argument("--by", action="append", default=[])
    spend.add_argument("--since")
    spend.add_argument("--freq")
    catalog = commands.add_parser("catalog", add_help=False)
    catalog.add_argument("query", nargs="*")
    catalog.add_argument("--provider")
    env = commands.add_parser("env", add_help=False)
    env.add_argument("--key")
    start = commands.add_parser("start", add_help=False)
    start.add_argument("--config")
    start.add_argument("--data-dir")
    return parser


def _check(args: argparse.Namespace) -> None:
    """Turn flag values into what the commands take; ValueError names a bad one."""
    if args.command != "spend":
        return
    from govern.logs.sql import bucket_seconds, instant

    args.by = group_by(args.by) if args.by else ["provider", "model_served"]
    args.since = since(args.since)
    instant(args.since, "since")
    bucket_seconds(args.freq)


class GovernMagic:
    """`%govern ...` for one IPython shell."""

    def __init__(self, shell: Any, display: Callable[[Any], None] | None = None):
        self.shell = shell
        self._display = display

    def __call__(self, line: str) -> object:
        """Run one `%govern` line; returns what the cell should show (or None)."""
        try:
            words = shlex.split(line, comments=True) or ["status"]
            if words[0] not in COMMANDS:
                raise UsageError(f"unknown command {words[0]!r}")
            args = _parser().parse_args(words)
            _check(args)
        except (UsageError, ValueError) as exc:
            detail = str(exc).strip()
            print(f"%govern: {detail}\n\n{USAGE}" if detail else USAGE)
            return None
        try:
            return getattr(self, f"_{args.command}")(args)
        except BudgetsUnavailable as exc:
            print(str(exc))
        except GovernError as exc:
            print(f"govern: {exc.message}")
        except Exception as exc:  # a magic never shows a traceback
            print(f"govern: {exc}")
        return None

    def show(self, value: Any) -> None:
        """Display `value` in the notebook (or print it in a terminal shell)."""
        if self._display is not None:
            self._display(value)
            return
        from IPython import display

        show: Callable[[Any], None] = display.display  # untyped in IPython
        show(value)

    def in_kernel(self) -> bool:
        """Whether the shell belongs to a Jupyter kernel (widgets can render)."""
        return getattr(self.shell, "kernel", None) is not None

    def _status(self, args: argparse.Namespace) -> None:
        status = status_of(session.current())
        if self.in_kernel():
            self.show(status_widget(status))
        else:
            print(status.text())

    def _help(self, args: argparse.Namespace) -> None:
        print(USAGE)

    def _spend(self, args: argparse.Namespace) -> object:
        return source_for(session.target()).spend(args.by, since=args.since, freq=args.freq)

    def _budgets(self, args: argparse.Namespace) -> object:
        frame = source_for(session.target()).budgets()
        if frame.empty:
            print("govern: no budgets or rate limits are configured")
            return None
        return frame

    def _catalog(self, args: argparse.Namespace) -> object:
        running = session.embedded()
        if running is not None:
            catalog = running.gateway.catalog
        else:
            from govern.catalog import default_catalog

            catalog = default_catalog()
        return catalog.models(" ".join(args.query) or None, args.provider)

    def _env(self, args: argparse.Namespace) -> None:
        values = session.export_env(args.key)
        for name, value in values.items():
            print(f"{name}={value}")

    def _start(self, args: argparse.Namespace) -> None:
        already = session.embedded() is not None
        running = session.start(args.config, data_dir=args.data_dir)
        if already:
            print(f"govern: already running at {running.url}")
        self._status(args)

    def _stop(self, args: argparse.Namespace) -> None:
        if session.stop():
            print("govern: stopped the embedded gateway (request log flushed)")
        else:
            print("govern: the embedded gateway is not running")
