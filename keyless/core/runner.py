"""Customer-managed workflow runners (Pulumi Deployments' self-hosted agents) with no pool token.

The agent exchanges an OIDC token itself when ``PULUMI_AGENT_OIDC_TOKEN_FILE`` names one (it
re-reads the file whenever its Pulumi token expires), with ``PULUMI_AGENT_ORGANIZATION_NAME`` and
``PULUMI_AGENT_RUNNER_POOL_ID``; the static ``PULUMI_AGENT_TOKEN`` is then unused, so none is set.
The issuer grants the agent's service account a ``runner`` token for that pool (``runnerID``).

With ``deploy_target: kubernetes`` the agent runs each workflow as a pod in its own namespace, as
a worker service account: the agent needs a Role over pods, their logs and config maps there, and
the worker account carries the cloud identity the deployments use. The environment variables,
the Role's rules, the health endpoint (``/healthz`` on 8080) and the image come from the agent's
own Kubernetes installers (``kubernetes/`` and ``kubernetes-dind/`` in
pulumi/customer-managed-workflow-agent v2.1.1; it has no released Helm chart) and Pulumi's
"customer-managed workflow runners" configuration reference. Unverified (no agent runs here): the
exact exchange request the agent sends, and that it runs as a non-root UID on a read-only root
with its home in an empty ``/tmp`` (its image sets no user; 2.1.0 "improved support for non-root
execution").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyless.core import tenancy
from keyless.core.kubernetes import (
    account_named_after,
    credential_endpoint,
    projected_token_volume,
    restricted_security_context,
)
from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import TokenType, organization_name, token_lifetime
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    dns1123_label,
    first,
    https_url,
    identifier,
    int_range,
    list_of,
    pinned_image,
    text,
)

DEFAULT_IMAGE = "pulumi/customer-managed-workflow-agent:v2.1.1"
"""Pinned: the installers default to ``latest-amd64``. The agent also runs its workflow pods from it.
The tag keeps the release's leading ``v``: the agent's goreleaser names images after the git tag
(``{{ .Tag }}``), and releases are tagged ``v*.*.*`` (its publish-release workflow)."""
DEFAULT_BACKEND_URL = "https://api.pulumi.com"
DEFAULT_TOKEN_EXPIRATION = "1h"
DEFAULT_PROJECTED_TOKEN_SECONDS = 3600
DEFAULT_RUN_AS_USER = 10001
HEALTH_PATH = "/healthz"
HEALTH_PORT = 8080
WORK_DIR = "/mnt/work"
"""The agent's shared volume (``PULUMI_AGENT_SHARED_VOLUME_DIRECTORY``), as its installer mounts it."""
TOKEN_DIR = "/var/run/secrets/pulumi"
TOKEN_PATH = f"{TOKEN_DIR}/token"
MAX_CONCURRENT_WORKFLOWS = 150
"""Pulumi Cloud runs at most this many workflows at once per organization: more agents idle."""


def _one_pool(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    given = [name for name in ("pool_id", "pool_name") if values.get(name) is not None]
    if len(given) == 1:
        return []
    return [
        Problem(
            keys.here,
            MISSING,
            f"names {' and '.join(keys.names(given)) or 'no pool'}",
            f"exactly one of {keys.name('pool_id')} (an existing pool) or {keys.name('pool_name')} (a pool created "
            "here)",
        )
    ]


def _replicas_of_a_job(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    if values.get("single_run") is True and values.get("replicas") not in (None, 1):
        return [
            Problem(
                keys.of("replicas"),
                values.get("replicas"),
                f"does not apply with {keys.name('single_run')}: true",
                "a single-run agent is one Job that claims one workflow; leave replicas unset",
            )
        ]
    return []


WORKER_SUFFIX = "-worker"


WORKFLOW_RUNNER = Spec(
    "KeylessWorkflowRunner",
    {
        "namespace": required(dns1123_label),
        "name": required(first(dns1123_label, tenancy.not_default)),
        "organization": required(organization_name),
        "pool_id": Field(identifier),
        "pool_name": Field(text),
        "single_run": Field(boolean, False, "bool"),
        "replicas": Field(int_range(1, MAX_CONCURRENT_WORKFLOWS), 1, "int"),
        "image": Field(pinned_image, DEFAULT_IMAGE),
        "token_expiration": Field(token_lifetime, DEFAULT_TOKEN_EXPIRATION),
        "token_expiration_seconds": Field(int_range(600, 86_400), DEFAULT_PROJECTED_TOKEN_SECONDS, "int"),
        "backend_url": Field(https_url, DEFAULT_BACKEND_URL),
        "run_as_user": Field(int_range(1, 2_147_483_647), DEFAULT_RUN_AS_USER, "int"),
        "worker_service_account": Field(first(dns1123_label, tenancy.not_default)),
        "worker_annotations": Field(kind="map"),
        "allow_reserved_namespace": Field(boolean, False, "bool"),
        "workflow_egress_ports": Field(list_of(int_range(1, 65_535), allow_empty=False), (443,), "list"),
        "credential_endpoints": Field(list_of(credential_endpoint), (), "list"),
    },
    (
        _one_pool,
        _replicas_of_a_job,
        account_named_after(WORKER_SUFFIX, "worker_service_account", "its worker account"),
        tenancy.namespace_rule(lambda values: {}),
    ),
)
"""A keyless workflow runner: its pool, how many agents, and the token each exchanges."""


def worker_service_account(name: str, given: str | None = None) -> str:
    """The account the agent's workflow pods run as (default ``<name>-worker``)."""
    return given or f"{name}{WORKER_SUFFIX}"


def runner_policy(namespace: str, service_account: str, pool_id: Any) -> dict[str, Any]:
    """The issuer policy the agent needs (a ``PulumiCloudTrust`` workload): a runner token for its pool."""
    return {
        "namespace": namespace,
        "service_account": service_account,
        "token_type": TokenType.RUNNER.value,
        "runner_id": pool_id,
    }


def agent_role_rules() -> list[dict[str, Any]]:
    """What the agent does in its namespace: start, watch and clean up its workflow pods (the
    installer's Role, verbatim in substance; no cluster-wide rights)."""
    return [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/log", "configmaps"],
            "verbs": ["create", "get", "list", "watch", "update", "delete"],
        }
    ]


def agent_environment(values: Mapping[str, Any], pool_id: str) -> list[dict[str, str]]:
    """The agent's settings (wire form): OIDC in place of ``PULUMI_AGENT_TOKEN``."""
    worker = worker_service_account(values["name"], values.get("worker_service_account"))
    return [
        {"name": "PULUMI_AGENT_SERVICE_URL", "value": values["backend_url"]},
        {"name": "PULUMI_AGENT_OIDC_TOKEN_FILE", "value": TOKEN_PATH},
        {"name": "PULUMI_AGENT_ORGANIZATION_NAME", "value": values["organization"]},
        {"name": "PULUMI_AGENT_RUNNER_POOL_ID", "value": pool_id},
        {"name": "PULUMI_AGENT_TOKEN_EXPIRATION", "value": values["token_expiration"]},
        {"name": "PULUMI_AGENT_DEPLOY_TARGET", "value": "kubernetes"},
        {"name": "PULUMI_AGENT_SHARED_VOLUME_DIRECTORY", "value": WORK_DIR},
        {"name": "PULUMI_AGENT_IMAGE", "value": values["image"]},
        {"name": "PULUMI_AGENT_IMAGE_PULL_POLICY", "value": "IfNotPresent"},
        {"name": "PULUMI_AGENT_SERVICE_ACCOUNT_NAME", "value": worker},
        {"name": "PULUMI_AGENT_SINGLE_RUN", "value": "true" if values["single_run"] else "false"},
        # The image sets no user; an arbitrary UID's home is "/", which is read-only here.
        {"name": "HOME", "value": "/tmp"},
    ]


AGENT_ANNOTATIONS = {
    # checkov's CKV_K8S_38 asks for no API token in pods that do not call the API; this one does.
    "checkov.io/skip1": "CKV_K8S_38=the agent starts its workflow pods through the Kubernetes API",
}


def agent_pod_spec(values: Mapping[str, Any], service_account: str, pool_id: str, audience: str) -> dict[str, Any]:
    """The agent's pod (wire form): hardened, its projected token mounted as a whole folder (a
    subPath mount is never refreshed), health-probed when it serves for long."""
    uid = values["run_as_user"]
    container: dict[str, Any] = {
        "name": "agent",
        "image": values["image"],
        "imagePullPolicy": "Always",
        "env": agent_environment(values, pool_id),
        "securityContext": restricted_security_context(uid),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "volumeMounts": [
            {"name": "pulumi-oidc-token", "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": "agent-work", "mountPath": WORK_DIR},
            {"name": "agent-tmp", "mountPath": "/tmp"},
        ],
    }
    if not values["single_run"]:
        probe = {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 10}
        container["ports"] = [{"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}]
        container["readinessProbe"] = {**probe, "initialDelaySeconds": 5}
        container["livenessProbe"] = {**probe, "initialDelaySeconds": 30}
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": True,  # the agent calls the Kubernetes API to start its pods
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # A workflow that is running when the pod stops is marked failed; give it time to finish.
        "terminationGracePeriodSeconds": 300,
        "containers": [container],
        "volumes": [
            projected_token_volume("pulumi-oidc-token", audience, values["token_expiration_seconds"]),
            {"name": "agent-work", "emptyDir": {}},
            {"name": "agent-tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ],
    }


def workflow_pods(agent_labels: Mapping[str, str]) -> dict[str, Any]:
    """What selects the agents' workflow pods: every pod of the runner's namespace but the agents
    (the namespace is the runner's alone; the agent's own labels for its pods are not documented)."""
    component = "app.kubernetes.io/component"
    return {"matchExpressions": [{"key": component, "operator": "NotIn", "values": [agent_labels[component]]}]}


AGENT_SETTINGS_PREFIX = "PULUMI_AGENT_"
OIDC_SETTINGS = ("PULUMI_AGENT_OIDC_TOKEN_FILE", "PULUMI_AGENT_ORGANIZATION_NAME", "PULUMI_AGENT_RUNNER_POOL_ID")
"""What an agent needs to exchange a token instead of reading the pool token (all three)."""


def agent_login_problems(env: Mapping[str, Any], pulumi_token_dirs: list[str]) -> list[str]:
    """Why an agent container (its env by name) would log in with a stored pool token rather than
    its service account's projected token mounted in one of ``pulumi_token_dirs``."""
    if not any(name.startswith(AGENT_SETTINGS_PREFIX) for name in env):
        return []
    found = []
    if "PULUMI_AGENT_TOKEN" in env:
        found.append("sets PULUMI_AGENT_TOKEN, a stored pool token")
    missing = [name for name in OIDC_SETTINGS if not env.get(name)]
    if missing:
        found.append(f"does not exchange its own token: {', '.join(missing)} unset")
    token_file = env.get("PULUMI_AGENT_OIDC_TOKEN_FILE")
    if isinstance(token_file, str) and token_file:
        folder = token_file.rsplit("/", 1)[0]
        if folder not in pulumi_token_dirs:
            found.append(
                f"PULUMI_AGENT_OIDC_TOKEN_FILE {token_file!r} is not in a projected service-account token for "
                "urn:pulumi:org:<org> mounted as a folder"
            )
    return found
