"""Choosing and loading stacks for a command, with every way that can fail said in one line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keyless.preview.artifacts import Preview


class StackUnusable(Exception):
    """A stack that cannot be run: no such file, unreadable YAML, invalid config, a failing program."""


def chosen_stacks(args: argparse.Namespace, root: Path) -> list[str]:
    """``--stack`` values (positional names are accepted too, with a note), else every stack file."""
    from keyless.config.read import stack_names

    legacy = list(getattr(args, "legacy_stacks", None) or [])
    if legacy:
        print(f"note: give stacks as --stack {legacy[0]} (positional names go in 0.3.0)", file=sys.stderr)
    stacks = [*(args.stacks or []), *legacy] or stack_names(root)
    if not stacks:
        raise StackUnusable(f"no Pulumi.<stack>.yaml in {root}")
    return stacks


def load(stack: str, root: Path, *, preview: bool = False) -> Preview:
    from keyless.config.read import StackFileError
    from keyless.core.problems import InvalidArgumentError
    from keyless.preview.artifacts import ProgramError, preview_stack

    try:
        return preview_stack(stack, root, preview=preview)
    except (InvalidArgumentError, FileNotFoundError, StackFileError, ProgramError) as error:
        raise StackUnusable(f"stack {stack!r}: {error}") from None
