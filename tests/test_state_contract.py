"""The state contract: every URN of each committed stack, checked against a committed snapshot.

A resource's URN (its type, name and parents) is how a live stack knows it: a changed URN replaces
the resource unless the new one answers to the old, through its own alias or its parent's, as the
engine computes them. The snapshot holds every URN a live stack may hold: a recorded URN that no
resource answers to any more is a replacement. A failing test here means a rename: add `aliases`,
record it in CHANGELOG.md, then refresh the snapshot (it keeps the earlier URNs that are answered) with

    KEYLESS_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_state_contract.py
"""

import json
import os

import pulumi
import pytest

from keyless.preview.engine import ProgramRun, run_program
from tests.conftest import ROOT, load_stack_file, stack_names

SNAPSHOT = ROOT / "tests" / "snapshots" / "urns.json"


def _run(stack: str) -> ProgramRun:
    values, secrets = load_stack_file(stack)
    return run_program(values, stack=stack, secret_keys=secrets, program=ROOT / "__main__.py")


def test_every_committed_stack_keeps_its_urns() -> None:
    recorded: dict[str, list[str]] = json.loads(SNAPSHOT.read_text())
    runs = {stack: _run(stack) for stack in stack_names()}
    current = {stack: {r.urn for r in run.registrations} for stack, run in runs.items()}
    answered = {stack: {urn for r in run.registrations for urn in r.answers_to} for stack, run in runs.items()}
    if os.environ.get("KEYLESS_UPDATE_SNAPSHOTS") == "1":
        kept = {
            stack: sorted(urns | (set(recorded.get(stack, [])) & answered[stack])) for stack, urns in current.items()
        }
        SNAPSHOT.write_text(json.dumps(kept, indent=2) + "\n")
        recorded = kept
    for stack in sorted(set(recorded) | set(current)):
        gone = sorted(set(recorded.get(stack, [])) - current.get(stack, set()) - answered.get(stack, set()))
        new = sorted(current.get(stack, set()) - set(recorded.get(stack, [])))
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


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("t:index:Box", name, None, opts)


def test_the_test_engine_carries_a_parents_aliases_to_its_children_as_the_engine_does() -> None:
    """The URNs each resource answers to, as the engine's ``generateAliases`` and
    ``inheritedChildAlias`` make them (pulumi/pulumi pkg/resource/deploy/step_generator.go): its own
    aliases, then each of its parent's with it beneath, a name that starts with the parent's taking
    the alias's name in its place. The snapshot test relies on it to tell a move from a replacement."""

    def program() -> None:
        new = _Box("new", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old", type_="t:index:Crate")]))
        _Box("new-child", opts=pulumi.ResourceOptions(parent=new))
        inner = _Box("inner", opts=pulumi.ResourceOptions(parent=new, aliases=[pulumi.Alias(name="inner-before")]))
        _Box("inner-leaf", opts=pulumi.ResourceOptions(parent=inner))

    answers = {r.name: r.answers_to for r in run_program({}, program=program).registrations}
    urn = "urn:pulumi:dev::keyless::"
    assert answers == {
        "new": [f"{urn}t:index:Crate::old"],
        "new-child": [f"{urn}t:index:Crate$t:index:Box::old-child"],
        "inner": [
            f"{urn}t:index:Box$t:index:Box::inner-before",
            f"{urn}t:index:Crate$t:index:Box::inner",
            f"{urn}t:index:Crate$t:index:Box::inner-before",
        ],
        "inner-leaf": [
            f"{urn}t:index:Box$t:index:Box$t:index:Box::inner-before-leaf",
            f"{urn}t:index:Crate$t:index:Box$t:index:Box::inner-leaf",
            f"{urn}t:index:Crate$t:index:Box$t:index:Box::inner-before-leaf",
        ],
    }
