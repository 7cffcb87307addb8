"""keyless policy build: a self-contained CrossGuard pack folder, ready to run or publish."""

from __future__ import annotations

import argparse
from pathlib import Path

from keyless.commands.flags import EXIT_OK

NAME = "policy"
SUMMARY = "build the guardrails as a CrossGuard policy pack folder (to run or publish)"
DESCRIPTION = """\
Write the guardrails as a self-contained Python policy pack: PulumiPolicy.yaml (with the
version), the entry point, requirements that name registry packages only, and the few keyless
modules the policies run on. Pulumi installs the requirements from that folder alone, so the
folder can be published as it is.

example:
  keyless policy build build/policy-pack
  pulumi preview --policy-pack build/policy-pack
  pulumi policy publish build/policy-pack"""


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="write the pack folder", description=DESCRIPTION)
    build.add_argument(
        "dir", nargs="?", type=Path, default=Path("build/policy-pack"), help="where (default: build/policy-pack)"
    )


def run(args: argparse.Namespace) -> int:
    from keyless.policies.build import build

    written = build(args.dir)
    print(f"Wrote the policy pack ({len(written)} files) to {args.dir}")
    return EXIT_OK
