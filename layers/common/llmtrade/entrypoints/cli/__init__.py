"""The `llmtrade` command: the weekly run, a checkpoint and the event log, locally.

Exit codes: 0 done; 1 a run that failed part-way and can be rerun (what it stored stays; a rerun
continues from it); 2 refused before anything ran (a flag, the config, a key, the data dir). A
failure is one line on stderr; --debug shows its traceback.
"""

# The parser and the error handling. A command's module (weekly, council, views, admin) is imported
# only when that command runs, so `llmtrade --help` loads the standard library and nothing of the
# pipeline.

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path

from llmtrade.entrypoints.cli.common import UsageError

Command = Callable[[argparse.Namespace], int]
# A module of the `cli` extra a command imports (python-dotenv for the keys of .env); rich only
# decorates.
CLI_EXTRA = {"dotenv"}


def _command(module: str, name: str) -> Command:
    """The command `name` of the module `cli.<module>`, imported when the command runs."""

    def run(args: argparse.Namespace) -> int:
        command: Command = getattr(import_module(f"{__name__}.{module}"), name)
        return command(args)

    return run


def _common(sub: argparse.ArgumentParser, offline: bool = True) -> None:
    sub.add_argument("--data-dir", type=Path, default=Path(".llmtrade"),
                     help="local event store (.llmtrade)")
    sub.add_argument("--config-dir", type=Path, default=None,
                     help="config YAML folder (default: config/)")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _debug(sub)
    if offline:
        sub.add_argument("--offline", action="store_true",
                         help="dry run: offline models, simulated market and broker, "
                              "no keys needed")


def _debug(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--debug", action="store_true",
                     help="on a failure, show the Python traceback too")


def _pipeline_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    week = commands.add_parser("run-week", help="run the weekly pipeline")
    week.add_argument("--week",
                      help="the Wednesday YYYY-MM-DD (default: the current or next Wednesday)")
    week.add_argument("--estimate", action="store_true",
                      help="print the expected LLM calls and cost from the config; "
                           "call and write nothing")
    _common(week)
    week.set_defaults(run=_command("weekly", "run_week"))

    point = commands.add_parser("checkpoint", help="run one checkpoint")
    point.add_argument("--at", required=True, help='"YYYY-MM-DD HH:MM" in America/New_York')
    _common(point)
    point.set_defaults(run=_command("weekly", "checkpoint"))

    listing = commands.add_parser("events", help="list a week's stored events")
    listing.add_argument("--week", required=True, help="the Wednesday YYYY-MM-DD")
    listing.add_argument("--account",
                         help="only this account's events (e.g. pm-gpt, council, shared)")
    _common(listing, offline=False)
    listing.set_defaults(run=_command("views", "events"))

    ask = commands.add_parser("council", help="ask the council any question: answers, "
                                              "anonymous rankings, synthesis")
    ask.add_argument("question", help="the question, in quotes")
    _common(ask)
    ask.set_defaults(run=_command("council", "council"))

    weeks = commands.add_parser("run-weeks", help="replay a range of weeks with every checkpoint, "
                                                  "then the leaderboard")
    weeks.add_argument("--from", dest="from_week", required=True,
                       help="the first Wednesday YYYY-MM-DD")
    weeks.add_argument("--to", dest="to_week", required=True, help="the last Wednesday YYYY-MM-DD")
    _common(weeks)
    weeks.set_defaults(run=_command("weekly", "run_weeks"))


def _view_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    board = commands.add_parser("leaderboard",
                                help="the cross-week leaderboard of the settled weeks")
    _common(board, offline=False)
    board.set_defaults(run=_command("views", "leaderboard_command"))

    page = commands.add_parser("report", help="write one self-contained HTML report: a week, "
                                              "or the leaderboard")
    page.add_argument("--week", help="the Wednesday YYYY-MM-DD of the week to report")
    page.add_argument("--leaderboard", action="store_true",
                      help="the cross-week page instead of a week")
    page.add_argument("--out", type=Path,
                      help="the HTML file (default: <data-dir>/reports/week-W.html)")
    _common(page, offline=False)
    page.set_defaults(run=_command("views", "report_command"))

    show = commands.add_parser("show",
                               help="one account's LLM calls of a week: prompt, answer and cost")
    show.add_argument("--week", required=True, help="the Wednesday YYYY-MM-DD")
    show.add_argument("--account", required=True, help="the account, e.g. pm-gpt or council")
    _common(show, offline=False)
    show.set_defaults(run=_command("views", "show_command"))

    stored = commands.add_parser("weeks", help="list the weeks in the local event store")
    _common(stored, offline=False)
    stored.set_defaults(run=_command("views", "weeks_command"))

    check = commands.add_parser("verify", help="check every event chain and seal: exit 1 naming "
                                               "the first broken link")
    check.add_argument("--week", help="only this Wednesday YYYY-MM-DD")
    _common(check, offline=False)
    check.set_defaults(run=_command("trust", "verify_command"))

    again = commands.add_parser("replay", help="make a week's decisions again from its stored "
                                               "answers: identical (exit 0) or each difference")
    again.add_argument("--week", required=True, help="the Wednesday YYYY-MM-DD")
    _common(again, offline=False)
    again.set_defaults(run=_command("trust", "replay_command"))


def _admin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("secrets", help="the keys in AWS Secrets Manager")
    keys_commands = keys.add_subparsers(dest="secrets_command", required=True)
    put = keys_commands.add_parser("put", help="write the keys of a .env into the two secrets "
                                                "(names printed, never values)")
    put.add_argument("--env-file", type=Path, default=Path(".env"),
                     help="the .env with the keys (.env)")
    put.add_argument("--dry-run", action="store_true",
                     help="show which key goes to which secret; send nothing")
    put.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    put.add_argument("--config-dir", type=Path, default=None,
                     help="config YAML folder (default: config/)")
    _debug(put)
    put.set_defaults(run=_command("admin", "secrets_put"))


def parser() -> argparse.ArgumentParser:
    from llmtrade import __version__

    summary, _, codes = (__doc__ or "").partition("\n\n")
    root = argparse.ArgumentParser(prog="llmtrade", description=summary, epilog=codes,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--version", action="version", version=f"llmtrade {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    _pipeline_commands(commands)  # the groups in the order --help lists them
    _view_commands(commands)
    _admin_commands(commands)
    return root


def _user_errors() -> tuple[type[Exception], ...]:
    """What a command raises for a mistake the user can fix, before anything ran (imported late:
    the command has loaded them)."""
    from llmtrade.config import ConfigError
    from llmtrade.domain.calendar import CalendarError
    from llmtrade.ports import RunRefused, StoreUnavailable

    return UsageError, ConfigError, CalendarError, RunRefused, StoreUnavailable


def _one_line(exc: BaseException) -> str:
    """The error as one line: its message's lines joined, or its type when it has no message."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def _failed(exc: Exception) -> str:
    """The line for a run that failed part-way: what it stored stays, a rerun continues from it."""
    import sqlite3

    text = _one_line(exc)
    if isinstance(exc, sqlite3.Error | OSError):
        if "full" in text or getattr(exc, "errno", None) == 28:  # ENOSPC
            text = f"the disk is full ({text}): free some space"
        text = f"could not write to the data dir: {text}"
    return (f"{text}. The run stopped; what it stored stays, and the same command continues from "
            "it (--debug shows the traceback)")


def _quiet_closed_pipe() -> int:
    """`llmtrade ... | head`: the reader left. Stop quietly, and keep Python from failing again
    when it flushes stdout at exit."""
    # a stdout without a file descriptor (a test's capture) has nothing to flush
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _new_files(data_dir: Path | None) -> Callable[[], None]:
    """Removes what a refused command created in the data dir (a refusal leaves nothing behind):
    the files and the folder that were not there before it."""
    if data_dir is None or data_dir.is_file():
        return lambda: None
    before = set(data_dir.iterdir()) if data_dir.is_dir() else None

    def remove() -> None:
        if not data_dir.is_dir():
            return
        for path in set(data_dir.iterdir()) - (before or set()):
            if path.is_file():
                path.unlink(missing_ok=True)
        if before is None and not any(data_dir.iterdir()):
            data_dir.rmdir()

    return remove


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    undo = _new_files(getattr(args, "data_dir", None))
    code = _run(args)
    if code == 2:
        undo()
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except BrokenPipeError:
        return _quiet_closed_pipe()
    except KeyboardInterrupt:
        print("llmtrade: interrupted; the same command continues from what was stored",
              file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if exc.name not in CLI_EXTRA:
            return _report(args, exc, 1)
        print(f"llmtrade: {exc.name} is missing: install the command with pip install -e '.[cli]'",
              file=sys.stderr)
        return 2
    except Exception as exc:
        return _report(args, exc, 2 if isinstance(exc, _user_errors()) else 1)


def _report(args: argparse.Namespace, exc: Exception, code: int) -> int:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    with contextlib.suppress(BrokenPipeError):
        print(f"llmtrade: {_one_line(exc) if code == 2 else _failed(exc)}", file=sys.stderr)
    return code
