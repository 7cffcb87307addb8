"""Flags that several commands take, defined once so that each means the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_OK, EXIT_FOUND, EXIT_CANNOT_RUN, EXIT_LIKELY = 0, 1, 2, 3
EXIT_CODES = """\
exit status:
  0  done: no mandatory violation; the token would be admitted
  1  a mandatory policy violation; the token would be refused (a documented reason); keyless audit:
     Pulumi Cloud holds something other than the stack declares
  2  could not run: bad arguments, an unreadable stack, file or token, a program that fails
  3  keyless doctor: likely refused, on reasons Pulumi Cloud does not document"""


def add_stacks(parser: argparse.ArgumentParser) -> None:
    """``--stack S`` (repeatable): the stacks to work on; all of the project's when absent."""
    parser.add_argument(
        "--stack",
        dest="stacks",
        action="append",
        metavar="STACK",
        help="a stack of the project (repeatable; default: every Pulumi.<stack>.yaml)",
    )


def add_stack(parser: argparse.ArgumentParser) -> None:
    """``--stack S``: the one stack a command needs."""
    parser.add_argument("--stack", required=True, metavar="STACK", help="the stack (its Pulumi.<stack>.yaml)")


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="the Pulumi project folder (default: the nearest folder with a Pulumi.yaml)",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def root_of(args: argparse.Namespace) -> Path:
    from keyless.preview.root import project_root

    return (args.root or project_root()).resolve()
