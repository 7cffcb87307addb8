"""The ``keyless`` command (also ``python -m keyless``): one dispatcher over the command modules."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from keyless.commands import audit, check, doctor, policy, preview
from keyless.commands.flags import EXIT_CODES

COMMANDS: tuple[ModuleType, ...] = (preview, check, doctor, audit, policy)

DESCRIPTION = """\
Keyless access from Kubernetes workloads to Pulumi Cloud and their cloud account: preview a
stack offline, check any program against the guardrails, diagnose a refused token exchange.

examples:
  keyless preview --stack dev
  keyless check --root ../another-program
  keyless doctor --stack dev --from-cluster --workload pulumi-runner/runner
  keyless audit --live --stack dev
  keyless policy build build/policy-pack"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="keyless",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME,
            help=command.SUMMARY,
            description=command.DESCRIPTION,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))
