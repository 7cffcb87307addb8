"""keyless check: the guardrail policies, offline, on any Pulumi Python program's stacks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND, EXIT_OK, add_json, add_root, add_stacks, root_of

NAME = "check"
SUMMARY = "run the guardrail policies offline on a program's stacks; exit 1 on a mandatory violation"
DESCRIPTION = """\
Run a Pulumi Python program (this project, or any other with --root) on Pulumi's mock engine
twice per stack, as the engine runs a policy pack: once as `pulumi preview` (what providers
compute later is unknown, and a policy that needs it waits) and once as `pulumi up` (example
values). Each resource is judged on its inputs as the policy server receives them. Across the
stacks checked together, it also reports a GKE grant that two stacks make to the same namespace
and service account of one project's workload identity pool (advisory: every cluster of the
project with that namespace and account holds both).

example:
  keyless check
  keyless check --root ../my-cluster-program --stack prod --json"""


def configure(parser: argparse.ArgumentParser) -> None:
    add_stacks(parser)
    add_root(parser)
    parser.add_argument("--program", dest="root", type=Path, help=argparse.SUPPRESS)  # the 0.1 spelling of --root
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from keyless.commands.stacks import StackUnusable, chosen_stacks, load
    from keyless.policies.offline import MANDATORY, Violation, across_stacks, report, violations
    from keyless.record import ProgramRun

    try:
        root = root_of(args)
        stacks = chosen_stacks(args, root)
    except (StackUnusable, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    results: dict[str, list[Violation]] = {}
    runs: dict[str, ProgramRun] = {}
    notes: list[str] = []
    for stack in stacks:
        try:
            at_preview = load(stack, root, preview=True)
        except StackUnusable as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        found = violations(at_preview.run)
        try:
            at_up = load(stack, root).run
            runs[stack] = at_up
            found += [v for v in violations(at_up) if v not in found]
        except StackUnusable as error:
            notes.append(
                f"{stack}: the `pulumi up` phase could not be simulated ({error}); values providers compute "
                "were judged at preview only, where they are unknown"
            )
        results[f"{at_preview.project}/{stack}"] = found
    shared = across_stacks(runs)
    if args.json:
        document = {subject: [vars(v) for v in found] for subject, found in results.items()}
        print(json.dumps({"stacks": document, "acrossStacks": shared, "notes": notes}, indent=2, sort_keys=True))
    else:
        for subject, found in results.items():
            print(report(found, subject))
        for finding in shared:
            print(f"[advisory] across stacks: {finding}")
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    mandatory = any(v.level == MANDATORY for found in results.values() for v in found)
    return EXIT_FOUND if mandatory else EXIT_OK
