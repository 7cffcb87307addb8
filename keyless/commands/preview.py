"""keyless preview: run the program offline, show what a stack would create, write its artifacts."""

from __future__ import annotations

import argparse
import sys

from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND, EXIT_OK, add_root, add_stacks, root_of

NAME = "preview"
SUMMARY = "show what a stack would create, offline, and write its reviewable artifacts"
DESCRIPTION = """\
Run the program on Pulumi's mock engine with a committed stack's config, print the resource
tree, and write the artifacts to <out>/<stack>/: Kubernetes YAML, the issuer's policies, IAM
trust policies, the login command, the guardrails' report (policy.txt) and the access map.
Exits 1 when a mandatory guardrail is violated, after writing the artifacts.

example:
  keyless preview --stack dev
  keyless preview --root examples/python-irsa --stack example"""


def configure(parser: argparse.ArgumentParser) -> None:
    add_stacks(parser)
    add_root(parser)
    parser.add_argument("legacy_stacks", nargs="*", metavar="STACK", help=argparse.SUPPRESS)
    parser.add_argument("--out", dest="out_dir", metavar="DIR", help="artifact folder (default: <root>/preview-out)")
    parser.add_argument("--quiet", action="store_true", help="write the artifacts without printing the tree")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keyless.commands.stacks import StackUnusable, chosen_stacks, load
    from keyless.policies.offline import MANDATORY, report, violations

    try:
        root = root_of(args)
        stacks = chosen_stacks(args, root)
    except StackUnusable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    out = Path(args.out_dir) if args.out_dir else root / "preview-out"
    status = EXIT_OK
    for stack in stacks:
        try:
            result = load(stack, root)
        except StackUnusable as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        written = result.write(out / stack)
        if not args.quiet:
            print(result.tree())
        print(f"Wrote {len(written)} artifacts to {out / stack}", file=sys.stderr)
        mandatory = [v for v in violations(result.run) if v.level == MANDATORY]
        if mandatory:
            print(report(mandatory, f"{result.project}/{stack}"), file=sys.stderr)
            status = EXIT_FOUND
    return status
