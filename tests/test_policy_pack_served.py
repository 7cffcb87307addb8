"""The guardrails as Pulumi runs them: the built pack started the way the engine starts a Python pack
(``python -u -m pulumi.policy <engine> <pack folder>``, its requirements installed from that folder
alone), called over gRPC with ``AnalyzerStub``. Its verdicts are compared with ``keyless check``'s.

The pack's environment is ``.venv-policy`` (``scripts/test`` builds it from a built pack's
``requirements.txt``), or the Python named by ``KEYLESS_POLICY_PYTHON``.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from keyless.policies import POLICIES, STACK_POLICIES
from keyless.policies.build import build
from keyless.policies.offline import violations
from keyless.preview.artifacts import preview_stack
from keyless.record import ProgramRun, Registration
from tests.conftest import ROOT, stack_names

SAMPLES = ROOT / "tests" / "samples"
pytestmark = pytest.mark.served_pack
Verdict = tuple[str, str, str, str]
"""(resource name, policy, level, message)."""


def _pack_python() -> str:
    named = os.environ.get("KEYLESS_POLICY_PYTHON")
    # Absolute: the pack runs with its own folder as the working directory.
    candidate = Path(named).absolute() if named else ROOT / ".venv-policy" / "bin" / "python"
    found = candidate.exists() and subprocess.run([str(candidate), "-c", "import pulumi_policy"]).returncode == 0
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"no policy-pack environment at {candidate}: scripts/test builds it")
        pytest.skip(f"no policy-pack environment at {candidate} (scripts/test builds it)")
    return str(candidate)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    python = _pack_python()
    pack = tmp_path_factory.mktemp("pack")
    build(pack)
    # As the engine does: the pack folder is the working directory and the program argument.
    server = subprocess.Popen(
        [python, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)],
        cwd=pack,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTHON")},
    )
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    if not port.isdigit():
        server.kill()
        pytest.fail(f"the pack did not start: {port!r}\n{server.communicate()[1]}")
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        channel.close()
        server.kill()
        server.wait()


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


LEVELS = {analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.ADVISORY: "advisory"}


def _message(diagnostic: Any) -> str:
    # pulumi_policy sends "<description>\n<message>".
    return str(diagnostic.message).split("\n", 1)[-1]


def served(stub: analyzer_pb2_grpc.AnalyzerStub, registrations: Sequence[Registration]) -> set[Verdict]:
    """Every violation the served pack reports: Analyze per custom resource, then AnalyzeStack."""
    found: set[Verdict] = set()
    names = {r.urn: r.name for r in registrations}
    for r in registrations:
        if not r.custom:
            continue
        request = analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.wire), urn=r.urn, name=r.name)
        for d in stub.Analyze(request).diagnostics:
            found.add((r.name, d.policyName, LEVELS[d.enforcementLevel], _message(d)))
    resources = [
        analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.wire), urn=r.urn, name=r.name, parent=r.parent)
        for r in registrations
    ]
    for d in stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics:
        found.add((names.get(d.urn, "stack"), d.policyName, LEVELS[d.enforcementLevel], _message(d)))
    return found


def offline(run: ProgramRun) -> set[Verdict]:
    return {(v.resource_name, v.policy, v.level, v.message) for v in violations(run)}


def test_the_served_pack_lists_every_policy(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "keyless-guardrails"
    assert [p.name for p in info.policies] == [p.name for p in POLICIES] + [p.name for p in STACK_POLICIES]
    lifetime = next(p for p in info.policies if p.name == "issuer-token-lifetime-capped")
    schema = json_format.MessageToDict(lifetime.configSchema.properties)
    assert schema == {"maxSeconds": {"type": "integer", "default": 7200}}


@pytest.mark.parametrize("phase", ["preview", "up"])
@pytest.mark.parametrize("stack", stack_names())
def test_every_committed_stack_passes_the_served_pack_as_it_passes_keyless_check(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, stack: str, phase: str
) -> None:
    run = preview_stack(stack, ROOT, preview=phase == "preview").run
    verdicts = served(analyzer, run.registrations)
    assert [v for v in verdicts if v[2] == "mandatory"] == []
    assert verdicts == offline(run)


def _twin(run: ProgramRun, type_token: str, change: Any) -> Registration:
    original = run.of_type(type_token)[0]
    twin = copy.deepcopy(original)
    change(twin.wire)
    return twin


def test_flawed_twins_of_the_dev_stack_are_named_by_the_served_pack(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    run = preview_stack("dev", ROOT).run

    def unpinned_issuer(wire: dict[str, Any]) -> None:
        wire["policies"][0]["rules"] = {"aud": "urn:pulumi:org:acme"}

    def latest_root_job(wire: dict[str, Any]) -> None:
        pod = wire["spec"]["template"]["spec"]
        pod["containers"][0]["image"] = "pulumi/pulumi:latest"
        pod["securityContext"]["runAsUser"] = 0
        pod["containers"][0]["securityContext"]["runAsUser"] = 0

    def static_token(wire: dict[str, Any]) -> None:
        wire["data"] = {"PULUMI_ACCESS_TOKEN": "pul-" + "0" * 40}

    twins = [
        _twin(run, "pulumiservice:index:OidcIssuer", unpinned_issuer),
        _twin(run, "kubernetes:batch/v1:Job", latest_root_job),
        _twin(run, "kubernetes:core/v1:ConfigMap", static_token),
    ]
    messages = {(v[1], v[3]) for v in served(analyzer, twins) if v[2] == "mandatory"}
    for policy, expected in (
        ("issuer-policy-pins-the-subject", "pins neither sub exactly"),
        ("login-pod-hardened", "image 'pulumi/pulumi:latest' is not pinned"),
        ("login-pod-hardened", "does not run as a non-root numeric UID"),
        ("no-stored-pulumi-token", "data.PULUMI_ACCESS_TOKEN holds a stored Pulumi token"),
    ):
        assert any(p == policy and expected in m for p, m in messages), (policy, expected, messages)


@pytest.mark.parametrize("phase", ["preview", "up"])
@pytest.mark.parametrize("sample", ["published-style", "gke-published", "eks-published"])
def test_programs_written_like_the_published_samples_fail_the_served_pack_as_keyless_check_says(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, sample: str, phase: str
) -> None:
    run = preview_stack("sample", SAMPLES / sample, preview=phase == "preview").run
    verdicts = served(analyzer, run.registrations)
    assert any(v[2] == "mandatory" for v in verdicts)
    assert verdicts == offline(run)
