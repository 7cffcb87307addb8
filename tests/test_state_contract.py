"""The state contract: every URN of each committed stack, checked against a committed snapshot.

A resource's URN (its type, name and parents) is how a live stack knows it: a changed URN replaces
the resource unless the new one declares the old as an alias. A failing test here means a rename:
add `aliases`, record it in CHANGELOG.md, then refresh the snapshot with

    KEYLESS_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_state_contract.py
"""

import json
import os

import pytest

from keyless.preview.engine import ProgramRun, run_program
from tests.conftest import ROOT, load_stack_file, stack_names

SNAPSHOT = ROOT / "tests" / "snapshots" / "urns.json"


def _run(stack: str) -> ProgramRun:
    values, secrets = load_stack_file(stack)
    return run_program(values, stack=stack, secret_keys=secrets, program=ROOT / "__main__.py")


def _urns() -> dict[str, list[str]]:
    return {stack: sorted(r.urn for r in _run(stack).registrations) for stack in stack_names()}


def test_every_committed_stack_keeps_its_urns() -> None:
    current = _urns()
    if os.environ.get("KEYLESS_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    recorded = json.loads(SNAPSHOT.read_text())
    for stack in sorted(set(recorded) | set(current)):
        gone = sorted(set(recorded.get(stack, [])) - set(current.get(stack, [])))
        new = sorted(set(current.get(stack, [])) - set(recorded.get(stack, [])))
        assert not gone and not new, f"stack {stack}: URNs changed\n  gone: {gone}\n  new: {new}\n{__doc__}"


@pytest.mark.parametrize("stack", stack_names())
def test_no_committed_stack_registers_a_urn_twice(stack: str) -> None:
    run = _run(stack)  # the test engine raises on a duplicate; this proves the snapshot is of a clean run
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns))


def test_workload_components_answer_to_their_names_from_before_the_dot_join() -> None:
    run = _run("existing-dev")
    for component in ("keyless:index:IrsaRole", "keyless:index:WorkloadServiceAccount"):
        agent = run.one(component, "pulumi-agents.deployment-agent")
        # Exactly the URN the component had under its earlier name, in the same stack and project.
        chain = component  # the engine leaves the stack's type out of a top-level resource's URN
        assert agent.urn == f"urn:pulumi:existing-dev::keyless::{chain}::pulumi-agents.deployment-agent"
        assert agent.aliases == [f"urn:pulumi:existing-dev::keyless::{chain}::pulumi-agents-deployment-agent"]


def test_no_alias_where_two_workloads_had_one_earlier_name() -> None:
    values, secrets = load_stack_file("dev")
    workloads = [
        {"namespace": "a-b", "serviceAccount": "c", "tokenType": "team", "teamName": "t", "runsLoginJob": True},
        {"namespace": "a", "serviceAccount": "b-c", "tokenType": "team", "teamName": "t"},
        {"namespace": "d", "serviceAccount": "e", "tokenType": "team", "teamName": "t"},
    ]
    values = {**values, "keyless:workloads": json.dumps(workloads)}
    run = run_program(values, stack="dev", secret_keys=secrets, program=ROOT / "__main__.py")
    accounts = {r.name: r.aliases for r in run.of_type("keyless:index:WorkloadServiceAccount")}
    earlier = "urn:pulumi:dev::keyless::keyless:index:WorkloadServiceAccount::d-e"
    assert accounts == {"a-b.c": [], "a.b-c": [], "d.e": [earlier]}
