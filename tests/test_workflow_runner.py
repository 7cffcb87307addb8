"""Customer-managed workflow runners with no pool token: the agents exchange their own service
account's projected token for a runner token of their pool, and their workflow pods run as a
worker account with a cloud identity. The agent's settings, Role and health endpoint are the ones
its own Kubernetes installer uses (pulumi/customer-managed-workflow-agent 2.1.1, kubernetes/);
``INSTALLER_ENV`` below is that installer's container env, with its token from a Secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner
from keyless.config import ConfigError, load_stack_config
from keyless.core.problems import InvalidArgumentError
from keyless.policies.offline import violations
from keyless.policies.pack import POLICIES, check_resource
from keyless.preview.artifacts import Preview
from keyless.preview.engine import EXAMPLE_POOL_ID, EXAMPLE_POOL_TOKEN
from keyless.record import ProgramRun, reveal
from tests.conftest import load_stack_file, run_component, run_stack
from tests.oidc_issuer import token_file

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
POOL = "5a4b1f0e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"

# The published installer's agent container env (kubernetes/raw_deployment.yaml, agent.ts).
INSTALLER_ENV = [
    {"name": "PULUMI_AGENT_DEPLOY_TARGET", "value": "kubernetes"},
    {"name": "PULUMI_AGENT_SHARED_VOLUME_DIRECTORY", "value": "/mnt/work"},
    {
        "name": "PULUMI_AGENT_SERVICE_URL",
        "valueFrom": {"configMapKeyRef": {"key": "PULUMI_AGENT_SERVICE_URL", "name": "agent-config"}},
    },
    {
        "name": "PULUMI_AGENT_TOKEN",
        "valueFrom": {"secretKeyRef": {"key": "PULUMI_AGENT_TOKEN", "name": "agent-secret"}},
    },
    {"name": "PULUMI_AGENT_SERVICE_ACCOUNT_NAME", "value": "deployment-agent"},
]


@pytest.fixture(scope="module")
def platform() -> ProgramRun:
    values, secrets = load_stack_file("platform")
    return run_stack(values, secret_keys=tuple(secrets))


def _agent(run: ProgramRun, kind: str = DEPLOYMENT) -> dict[str, Any]:
    return run.one(kind, "pulumi-runners.deploy").plain_inputs


def _env(pod: dict[str, Any]) -> dict[str, str]:
    (container,) = pod["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_agents_exchange_their_own_token_for_a_runner_token_of_their_pool(platform: ProgramRun) -> None:
    deployment = _agent(platform)
    pod = deployment["spec"]["template"]["spec"]
    env = _env(pod)
    assert env["PULUMI_AGENT_OIDC_TOKEN_FILE"] == "/var/run/secrets/pulumi/token"
    assert (env["PULUMI_AGENT_ORGANIZATION_NAME"], env["PULUMI_AGENT_RUNNER_POOL_ID"]) == ("my-pulumi-org", POOL)
    assert env["PULUMI_AGENT_TOKEN_EXPIRATION"] == "1h" and env["PULUMI_AGENT_DEPLOY_TARGET"] == "kubernetes"
    assert "PULUMI_AGENT_TOKEN" not in env and not platform.of_type("kubernetes:core/v1:Secret")
    (volume,) = [v for v in pod["volumes"] if "projected" in v]
    source = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == "urn:pulumi:org:my-pulumi-org"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == "/var/run/secrets/pulumi" and "subPath" not in mount, "a folder, so it is refreshed"
    policies = platform.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]
    runner = next(p for p in policies if p["tokenType"] == "runner")
    assert runner["runnerID"] == POOL
    assert runner["rules"]["sub"] == "system:serviceaccount:pulumi-runners:deploy"
    assert deployment["spec"]["replicas"] == 2


def test_the_workflow_pods_run_as_a_worker_with_the_cloud_identity(platform: ProgramRun) -> None:
    env = _env(_agent(platform)["spec"]["template"]["spec"])
    assert env["PULUMI_AGENT_SERVICE_ACCOUNT_NAME"] == "deploy-worker"
    accounts = {
        a.plain_inputs["metadata"]["name"]: a.plain_inputs
        for a in platform.of_type("kubernetes:core/v1:ServiceAccount")
        if a.plain_inputs["metadata"]["namespace"] == "pulumi-runners"
    }
    worker = accounts["deploy-worker"]
    assert worker["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    assert worker["automountServiceAccountToken"] is False
    assert "annotations" not in accounts["deploy"]["metadata"], "the agents have no cloud identity"
    role = next(r for r in platform.of_type("aws:iam/role:Role") if "deploy-worker" in r.name)
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    conditions = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:pulumi-runners:deploy-worker" in conditions.values()


def test_the_agents_may_manage_pods_in_their_namespace_only(platform: ProgramRun) -> None:
    role = platform.one("kubernetes:rbac.authorization.k8s.io/v1:Role").plain_inputs
    assert role["metadata"]["namespace"] == "pulumi-runners"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/log", "configmaps"],
            "verbs": ["create", "get", "list", "watch", "update", "delete"],
        }
    ]
    assert not platform.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    binding = platform.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").plain_inputs
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "deploy", "namespace": "pulumi-runners"}]
    namespace = next(
        n.plain_inputs for n in platform.of_type("kubernetes:core/v1:Namespace") if n.name == "pulumi-runners"
    )
    # The agent starts its workflow pods from a spec with no security context.
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_the_agent_pod_is_hardened_pinned_and_health_probed(platform: ProgramRun) -> None:
    pod = _agent(platform)["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    # The agent's images are tagged with its release's git tag, v<major>.<minor>.<patch>
    # (.goreleaser.yaml's {{ .Tag }}, publish-release.yaml's v*.*.*): ":2.1.1" would not pull.
    assert agent["image"] == "pulumi/customer-managed-workflow-agent:v2.1.1"
    assert agent["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert agent["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    context = agent["securityContext"]
    assert context["runAsNonRoot"] and context["runAsUser"] == 10001 and context["readOnlyRootFilesystem"]
    assert context["capabilities"] == {"drop": ["ALL"]} and context["allowPrivilegeEscalation"] is False
    assert [v for v in violations(platform) if v.level == "mandatory"] == []


def _runner_values(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("platform")
    runners = json.loads(values["keyless:workflowRunners"])
    runners[0].update(changes)
    for key in [k for k, v in runners[0].items() if v is None]:
        del runners[0][key]
    return {**values, "keyless:workflowRunners": json.dumps(runners)}


def test_a_pool_created_here_keeps_its_token_out_of_the_cluster_and_the_outputs() -> None:
    run = run_stack(_runner_values(poolId=None, poolName="platform-deployments", singleRun=True, replicas=None))
    pool = run.one("pulumiservice:index:AgentPool")
    assert pool.plain_inputs == {
        "name": "platform-deployments",
        "organizationName": "my-pulumi-org",
        "description": "Keyless workflow runners pulumi-runners/deploy",
    }
    assert "tokenValue" in pool.secret_outputs, "secret in the state, where it is the only copy"
    elsewhere = [r.inputs for r in run.registrations if r is not pool] + [run.outputs]
    assert EXAMPLE_POOL_TOKEN not in json.dumps(reveal(elsewhere), default=str)
    assert _env(_agent(run, JOB)["spec"]["template"]["spec"])["PULUMI_AGENT_RUNNER_POOL_ID"] == EXAMPLE_POOL_ID
    policies = run.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]
    assert next(p for p in policies if p["tokenType"] == "runner")["runnerID"] == EXAMPLE_POOL_ID


def test_a_single_run_agent_is_a_job_pulumi_does_not_wait_for() -> None:
    run = run_stack(_runner_values(singleRun=True, replicas=None))
    assert not run.of_type(DEPLOYMENT)
    job = _agent(run, JOB)
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert _env(pod)["PULUMI_AGENT_SINGLE_RUN"] == "true"
    assert "readinessProbe" not in pod["containers"][0], "it serves no health endpoint for long"
    # The preview's summary of the login describes the login Job, not the agent's, in either order.
    for registrations in (run.registrations, run.registrations[::-1]):
        summary = Preview("platform", ProgramRun(registrations, [], {}), "1.33").login_job_summary()
        assert summary is not None and summary["serviceAccount"] == "networking"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"poolName": "p"}, "keyless:workflowRunners[0]: names poolId and poolName"),
        ({"poolId": None}, "keyless:workflowRunners[0]: names no pool"),
        ({"singleRun": True}, "keyless:workflowRunners[0].replicas: 2 does not apply with singleRun: true"),
        ({"tokenExpiration": "3h"}, "keyless:workflowRunners[0].tokenExpiration: '3h' (10800s) exceeds"),
        ({"namespace": "pulumi-stacks"}, "is also the namespace of keyless:workloads[0]"),
        (
            {"workerServiceAccount": "deploy"},
            "keyless:workflowRunners[0]: names the service account pulumi-runners/deploy for two of its accounts",
        ),
        (
            {"identityMode": "direct"},
            "keyless:workflowRunners[0].identityMode: 'direct' is not a mode of identity cloud 'eks'",
        ),
        ({"gcpRoles": ["roles/viewer"]}, "keyless:workflowRunners[0].gcpRoles: applies to identityMode"),
        (
            {"image": "pulumi/customer-managed-workflow-agent:latest-amd64"},
            "image: 'pulumi/customer-managed-workflow-agent:latest-amd64' is not pinned",
        ),
    ],
)
def test_what_would_break_a_runner_is_refused_before_any_resource(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(_runner_values(**changes), stack="platform")
    assert message in str(error.value)


def test_the_component_validates_its_own_args() -> None:
    with pytest.raises(InvalidArgumentError, match="names no pool"):
        run_component(lambda: KeylessWorkflowRunner("r", {"namespace": "ci", "name": "agent", "organization": "acme"}))


def test_the_guardrail_flags_the_published_installer_and_admits_ours(platform: ProgramRun) -> None:
    policy = next(p for p in POLICIES if p.name == "workflow-runner-exchanges-its-token")
    installer = {"spec": {"template": {"spec": {"containers": [{"name": "agent", "env": INSTALLER_ENV}]}}}}
    found = check_resource(policy, DEPLOYMENT, installer)
    assert found == [
        "container 'agent' sets PULUMI_AGENT_TOKEN, a stored pool token",
        "container 'agent' does not exchange its own token: PULUMI_AGENT_OIDC_TOKEN_FILE, "
        "PULUMI_AGENT_ORGANIZATION_NAME, PULUMI_AGENT_RUNNER_POOL_ID unset",
    ]
    assert check_resource(policy, DEPLOYMENT, _agent(platform)) == []
    misplaced = json.loads(json.dumps(_agent(platform)))
    pod = misplaced["spec"]["template"]["spec"]
    pod["containers"][0]["env"][1]["value"] = "/mnt/work/token"
    assert check_resource(policy, DEPLOYMENT, misplaced) == [
        "container 'agent' PULUMI_AGENT_OIDC_TOKEN_FILE '/mnt/work/token' is not in a projected service-account "
        "token for urn:pulumi:org:<org> mounted as a folder"
    ]


def test_the_doctor_diagnoses_an_agent_token(tmp_path: Path, capsys: Any) -> None:
    iss = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    path = token_file(tmp_path / "t.jwt", "pulumi-runners", "deploy", "urn:pulumi:org:my-pulumi-org", issuer=iss)
    argv = ["doctor", "--stack", "platform", "--token-file", str(path), "--json"]
    assert main([*argv, "--runner", "pulumi-runners/deploy"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "admitted"
    assert report["request"]["token_type"] == "runner" and report["request"]["lifetime_seconds"] == 3600
    # The same token through `pulumi login`: the CLI cannot ask for a runner token.
    assert main(argv) == 1
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["reasons"]]
    assert codes == ["runner-token-not-requestable"]
    assert main([*argv, "--runner", "pulumi-runners/other"]) == 2
    assert "its workflow runners: pulumi-runners/deploy" in capsys.readouterr().err


def test_the_access_map_shows_each_runner_pool_and_worker(tmp_path: Path) -> None:
    assert main(["preview", "--stack", "platform", "--quiet", "--out", str(tmp_path)]) == 0
    access = (tmp_path / "platform" / "access-map.md").read_text()
    assert f"| `pulumi-runners/deploy` | runner token ({POOL}) | none |" in access
    assert (
        f"| Deployment pulumi-runners/deploy | `pulumi-runners/deploy` | `{POOL}` | `pulumi-runners/deploy-worker` |"
        in access
    )


def test_the_workflow_pods_take_no_ingress_and_reach_only_what_programs_need(platform: ProgramRun) -> None:
    """They hold a runner token and the worker's identity (IRSA here: a token file, no node endpoint)."""
    policy = platform.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "pulumi-runners.deploy-workflows")
    spec = policy.plain_inputs["spec"]
    # Every pod of the runner's own namespace but the agents: the agent starts them from its own spec.
    assert spec["podSelector"] == {
        "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["runner-agent"]}]
    }
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["ingress"] == []
    assert spec["egress"] == [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": 443}]},
    ]


def test_a_worker_with_pod_identity_reaches_its_agent_and_no_other_node_endpoint() -> None:
    run = run_stack(_runner_values(identityMode="podIdentity", workflowEgressPorts=[443, 22]))
    spec = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "pulumi-runners.deploy-workflows").plain_inputs
    egress = spec["spec"]["egress"]
    assert egress[1] == {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 22}]}
    assert egress[2:] == [
        {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    ]
