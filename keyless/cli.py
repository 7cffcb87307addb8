"""``keyless <command>`` (or ``python -m keyless <command>``): the project's tools.

keyless preview [STACK…]   the program on the mock engine: resource tree and artifacts
keyless doctor --stack S   why Pulumi Cloud would refuse (or admit) a workload's token
keyless check [--stack S]  the guardrail policies, offline, on this project's or any program's stacks
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _preview(args: argparse.Namespace) -> int:
    from keyless.config.read import stack_names
    from keyless.core.problems import InvalidArgumentError
    from keyless.preview.artifacts import preview_stack
    from keyless.preview.root import project_root

    root = (args.root or project_root()).resolve()
    stacks = args.stacks or stack_names(root)
    out = args.out or root / "preview-out"
    for stack in stacks:
        try:
            result = preview_stack(stack, root)
        except (InvalidArgumentError, FileNotFoundError) as error:
            print(f"error: stack {stack!r}: {error}", file=sys.stderr)
            return 2
        written = result.write(out / stack)
        if not args.quiet:
            print(result.tree())
        print(f"Wrote {len(written)} artifacts to {out / stack}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from keyless.config.read import stack_names
    from keyless.core.problems import InvalidArgumentError
    from keyless.policies.offline import report, violations
    from keyless.preview.artifacts import preview_stack
    from keyless.preview.root import project_root

    root = (args.program or project_root()).resolve()
    stacks = args.stack or stack_names(root)
    if not stacks:
        print(f"error: no Pulumi.<stack>.yaml in {root}", file=sys.stderr)
        return 2
    mandatory = 0
    for stack in stacks:
        try:
            preview = preview_stack(stack, root)
        except (InvalidArgumentError, FileNotFoundError) as error:
            print(f"error: stack {stack!r}: {error}", file=sys.stderr)
            return 2
        found = violations(preview.run)
        mandatory += sum(1 for v in found if v.level == "mandatory")
        print(report(found, f"{preview.project}/{stack}"))
    return 1 if mandatory else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="keyless", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    preview = commands.add_parser(
        "preview", help="show what a stack would create, offline, and write its artifacts", description=_preview.__doc__
    )
    preview.add_argument("stacks", nargs="*", metavar="STACK", help="stack names (default: every Pulumi.<stack>.yaml)")
    preview.add_argument("--out", type=Path, help="artifact folder (default: <root>/preview-out)")
    preview.add_argument("--root", type=Path, help="Pulumi project folder (default: the nearest with a Pulumi.yaml)")
    preview.add_argument("--quiet", action="store_true", help="write the artifacts without printing the tree")
    preview.set_defaults(run=_preview)

    from keyless.doctor import command as doctor

    diagnose = commands.add_parser(
        "doctor",
        help="say why Pulumi Cloud would refuse (or admit) a workload's token exchange",
        description=doctor.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_arguments(diagnose)
    diagnose.set_defaults(run=doctor.run)

    check = commands.add_parser(
        "check",
        help="run the guardrail policies offline on a program's stacks; exit 1 on a mandatory violation",
    )
    check.add_argument("--stack", action="append", metavar="STACK", help="a stack to check (default: every one)")
    check.add_argument(
        "--program", type=Path, metavar="DIR", help="any Pulumi Python program folder (default: this project)"
    )
    check.set_defaults(run=_check)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))
