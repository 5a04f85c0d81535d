"""Command line: ``python -m gridgeo …`` does what the app does.

One module per command group (``cli.validate``, ``cli.partition`` …), each with
a ``register(sub)`` that adds its subparser; this module wires them together.

Exit codes: 0 ok, 1 checked and found problems (``validate``), 2 unusable
input (a ``GridgeoError``: one line on stderr, no traceback).

Messages are in ``--lang`` (default ``zh``): errors and problems are rendered
with ``gridgeo.errors.render``; every Python warning raised while a command
runs is caught and printed as one clean line on stderr (never a raw
``UserWarning`` with a source line).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

from gridgeo import __version__
from gridgeo.errors import GridgeoError, render, warning_line
from gridgeo.i18n import Lang, t

#: command modules (``gridgeo.cli.<name>``), in the order ``--help`` lists them
#: (``plan`` adds the edit commands of ``cli.plan_edit``)
COMMANDS = ("validate", "partition", "plan", "cases", "coverage", "staff", "export", "demo")

#: top-level command -> the one module registering it. A run imports only that module:
#: importing every command's library (scipy.stats, matplotlib …) cost ~6 s per run.
#: A command missing here still works: every module is imported then.
ROUTES = {"validate": "validate", "partition": "partition", "plan": "plan", "cases": "cases",
          "coverage": "coverage", "staff": "staff", "export": "export", "print": "export", "demo": "demo"}


#: True when this process is the command line's own (``python -m gridgeo`` sets it); then
#: ``start_up`` may change how the process collects garbage. Never set in a host process.
OWN_PROCESS = False


@contextmanager
def start_up() -> Iterator[None]:
    """Imports and set-up without the cyclic garbage collector, then freeze what they made.

    A partition run allocates about a million long-lived objects while it imports pandas and
    loads numba's compiled search; the collector walked them all again and again (0.3–0.45 s
    of a 3 s run, bench/README.md Round 8). Frozen, they are never walked again, and forked
    workers keep sharing their pages (the collector no longer writes to them). Only in the CLI's own process: in a host process
    (tests, the app) frozen garbage would never be freed, so there this does nothing.
    """
    if not OWN_PROCESS:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand word of ``argv`` (the first token not an option or its value), if any."""
    it = iter(argv)
    for token in it:
        if token == "--lang":
            next(it, None)
        elif not token.startswith("-"):
            return token
    return None


def _modules(argv: Sequence[str] | None) -> list[ModuleType]:
    name = _command(sys.argv[1:] if argv is None else argv)
    wanted = [ROUTES[name]] if name is not None and name in ROUTES else list(COMMANDS)
    return [importlib.import_module(f"gridgeo.cli.{m}") for m in wanted]


def build_parser(argv: Sequence[str] | None = ()) -> argparse.ArgumentParser:
    """Return the argument parser (one subcommand per library area).

    With ``argv`` naming a known command only that command is registered; by
    default (and for ``--help`` or an unknown command) all of them are.
    """
    parser = argparse.ArgumentParser(prog="python -m gridgeo",
                                     description="gridgeo: grid planning for urban community governance")
    parser.add_argument("--version", action="version", version=f"gridgeo {__version__}")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh",
                        help="language of messages and summaries (default zh: 简体中文)")
    sub = parser.add_subparsers(dest="command", required=True)

    for module in _modules(argv):
        module.register(sub)
    return parser


def _lang(args: argparse.Namespace) -> Lang:
    return "en" if getattr(args, "lang", "zh") == "en" else "zh"


def progress_printer(lang: Lang) -> Callable[[int, int, str], None]:
    """A ``partition`` progress callback for stderr: one rewritten line on a terminal, else a line per tenth.

    Redirected to a log or a CI console, carriage returns would glue 190
    messages into one line; there a line is printed at every 10% and at the end.
    """
    tty = sys.stderr.isatty()
    shown = [-1]

    def progress(done: int, total: int, community_id: str) -> None:
        text = t("partition.cli.progress", lang, done=done, total=total, community=community_id)
        if tty:
            print("\r" + text, end="" if done < total else "\n", file=sys.stderr, flush=True)
            return
        tenth = done * 10 // max(total, 1)
        if tenth > shown[0] or done == total:
            shown[0] = tenth
            print(text, file=sys.stderr, flush=True)

    return progress


def print_error(err: GridgeoError, lang: Lang) -> None:
    """Print an error on stderr in ``lang``: one sentence, or a heading and one line per problem.

    A district folder with several bad files raises the first file's error with the
    others in ``fields["also"]`` (``io.read_district``): every file gets its own block,
    as the pages show one box per file, so the user fixes them all in one go.
    """
    also = err.fields.get("also", ())
    for each in (err, *(also if isinstance(also, tuple) else ())):
        if isinstance(each, GridgeoError):
            print(t("errfmt.cli_error", lang, text=render(each, lang)), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    with start_up():
        args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    lang = _lang(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=ResourceWarning)
        try:
            code = int(args.func(args))
        except GridgeoError as err:
            code = 2
            _print_warnings(caught, lang)
            print_error(err, lang)
            return code
        except ValueError as err:  # e.g. bounds min > max from Rules
            _print_warnings(caught, lang)
            print(t("errfmt.cli_error", lang, text=str(err)), file=sys.stderr)
            return 2
    _print_warnings(caught, lang)
    return code


def _print_warnings(caught: list[warnings.WarningMessage], lang: Lang) -> None:
    seen: set[str] = set()
    for w in caught:
        line = warning_line(w, lang)
        if line not in seen:
            seen.add(line)
            print(t("errfmt.cli_warning", lang, text=line), file=sys.stderr)
