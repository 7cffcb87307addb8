"""The policies run on what a program registers on the mock engine: ``keyless check``, and the
offline preview's ``policy.txt``. Each resource is judged on its inputs as a served pack receives
them (:attr:`~keyless.record.Registration.served_inputs`: numbers are doubles, secrets unwrapped),
so the offline verdict is the one ``pulumi preview --policy-pack`` gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keyless.core import gcp
from keyless.policies.pack import MANDATORY, POLICIES, STACK_POLICIES, Resource, check_resource, check_stack
from keyless.record import ProgramRun, urn_type


@dataclass(frozen=True)
class Violation:
    resource_type: str
    resource_name: str
    policy: str
    level: str
    message: str
    fix: str


def violations(run: ProgramRun, config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Violation]:
    """Every policy's violations on every resource the run registered (wire-form inputs)."""
    config = config or {}
    found = []
    for registration in run.registrations:
        if not registration.custom:
            continue
        props = registration.served_inputs
        for policy in POLICIES:
            for message in check_resource(policy, registration.type, props, config.get(policy.name)):
                found.append(
                    Violation(
                        registration.type,
                        registration.name,
                        policy.name,
                        policy.enforcement,
                        message,
                        policy.description,
                    )
                )
    resources = [Resource(r.type, r.name, r.served_inputs, urn_type(r.parent)) for r in run.registrations if r.custom]
    by_name = {r.name: r.type for r in resources}
    for stack_policy in STACK_POLICIES:
        for name, message in check_stack(stack_policy, resources, config.get(stack_policy.name)):
            found.append(
                Violation(
                    by_name.get(name, "stack"),
                    name,
                    stack_policy.name,
                    stack_policy.enforcement,
                    message,
                    stack_policy.description,
                )
            )
    return found


POOL_GRANTS = (
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:serviceaccount/iAMBinding:IAMBinding",
    "gcp:projects/iAMMember:IAMMember",
)


def across_stacks(runs: Mapping[str, ProgramRun]) -> list[str]:
    """What only several stacks together show: GKE grants to one namespace/account of a project's
    workload identity pool from two stacks (two clusters), which each cluster's account then holds."""
    grants = []
    for stack, run in runs.items():
        for registration in run.registrations:
            if registration.type in POOL_GRANTS:
                inputs = registration.plain_inputs
                members = [inputs.get("member"), *(inputs.get("members") or [])]
                grants += [(stack, *subject) for subject in map(gcp.pool_subject, members) if subject is not None]
    return gcp.same_subject_in_other_clusters(grants)


def report(found: Sequence[Violation], subject: str) -> str:
    """Violations grouped by resource, each with its policy, level and fix."""
    if not found:
        return f"{subject}: no policy violations ({len(POLICIES) + len(STACK_POLICIES)} policies checked)\n"
    mandatory = sum(1 for v in found if v.level == MANDATORY)
    lines = [f"{subject}: {len(found)} violation(s), {mandatory} mandatory"]
    seen: dict[tuple[str, str], list[Violation]] = {}
    for violation in found:
        seen.setdefault((violation.resource_type, violation.resource_name), []).append(violation)
    for (resource_type, name), items in seen.items():
        lines += ["", f"{resource_type}  {name}"]
        for violation in items:
            lines.append(f"  [{violation.level}] {violation.policy}: {violation.message}")
            lines.append(f"      fix: {violation.fix}")
    return "\n".join(lines) + "\n"
