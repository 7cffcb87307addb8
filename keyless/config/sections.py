"""The stack config's keys: each section is its component's spec, spelt in camelCase.

A section reuses the component's :class:`~keyless.core.spec.Field` objects (rule, default, kind),
so a value the stack config accepts is exactly one the component accepts. Keys that exist only
in the stack config carry their documentation here; the others are documented on the
component's args and appear in the generated reference (``docs/configuration.md``).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from functools import lru_cache

from keyless import identity
from keyless.core import aws, azure, esc, gcp, kubernetes, login_job, operator, pulumi_cloud, runner
from keyless.core.problems import Problem
from keyless.core.spec import Field, Spec, required
from keyless.core.values import boolean, choice, list_of, pattern, text

NAMESPACE = "keyless"
PREFIX = f"{NAMESPACE}:"


class Cloud(StrEnum):
    """Where the cluster comes from."""

    GKE = "gke"
    EKS = "eks"
    AKS = "aks"
    EXISTING = "existing"


class IdentityCloud(StrEnum):
    """Whose cloud identities an existing cluster's workloads get."""

    GKE = "gke"
    EKS = "eks"
    AKS = "aks"
    NONE = "none"


def _identity_mode_field(whose: str = "the workload") -> Field:
    offered = {
        cloud: [mode.name for mode in identity.offered(cloud)]
        for cloud in (IdentityCloud.EKS, IdentityCloud.GKE, IdentityCloud.AKS)
    }
    described = "; ".join(f"{cloud.upper()}: {' or '.join(names)}" for cloud, names in offered.items() if names)
    return Field(
        choice(mode.name for mode in identity.modes()),
        doc=f"How {whose} gets its cloud identity ({described}; the first is the default). See docs/identities.md.",
    )


@lru_cache(maxsize=4)
def _workload(registry: tuple[str, ...]) -> Spec:
    return pulumi_cloud.WORKLOAD_POLICY.extend(
        "workload",
        {
            "runs_login_job": Field(
                boolean,
                False,
                "bool",
                doc="The login Job runs as this workload's service account (at most one workload).",
            ),
            "esc_environments": Field(
                list_of(esc.project_environment),
                (),
                "list",
                doc="ESC environments (<project>/<environment>) the login Job opens as this workload, values "
                "discarded, to prove its token can read them (only with runsLoginJob).",
            ),
            "identity_mode": _identity_mode_field(),
            **identity.fields(),
        },
    )


def workload() -> Spec:
    """A workload's keys: its issuer policy, the login Job, its identity mode and that mode's fields
    (from the identity-mode registry)."""
    return _workload(identity.version())


GKE = replace(
    gcp.GKE_CLUSTER.only(
        "project",
        "location",
        "cluster_name",
        "node_count",
        "machine_type",
        "release_channel",
        "deletion_protection",
        "enforce_network_policy",
    ),
    name="gke",
)
GKE = replace(
    GKE, fields={**GKE.fields, "project": Field(gcp.project_id, doc="Google Cloud project (default: gcp:project).")}
)

EKS = aws.EKS_CLUSTER.only(
    "cluster_name",
    "kubernetes_version",
    "subnet_ids",
    "instance_types",
    "desired_size",
    "min_size",
    "max_size",
    "deletion_protection",
    "enforce_network_policy",
).extend(
    "eks",
    {
        "oidc_provider_arn": Field(
            aws.oidc_provider_arn, doc="Reuse the cluster's IAM OIDC provider instead of creating one."
        ),
        "oidc_thumbprints": Field(
            list_of(aws.thumbprint),
            kind="list",
            doc="Pin the issuer CA's thumbprints (AWS verifies EKS issuers without).",
        ),
    },
)

AKS = azure.AKS_CLUSTER.only(
    "cluster_name",
    "resource_group_name",
    "kubernetes_version",
    "node_count",
    "vm_size",
    "disable_local_accounts",
    "admin_group_object_ids",
    "enforce_network_policy",
    "deletion_protection",
).extend(
    "aks", {"location": Field(azure.location, doc="Azure region of the cluster (default: azure-native:location).")}
)

LOOKUP = Spec(
    "lookup",
    {
        "cluster_name": Field(text, doc="Name of the cluster to look up (derives the issuer and a kubeconfig)."),
        "location": Field(gcp.location, doc="GKE: the cluster's region or zone."),
        "resource_group_name": Field(azure.resource_group_name, doc="AKS: the cluster's resource group."),
    },
)
EXISTING = Spec(
    "existing",
    {
        "identity_cloud": required(
            choice(IdentityCloud),
            doc="Cloud identities for the workloads: gke, eks, aks or none (Pulumi Cloud only).",
        ),
        "issuer_url": Field(
            pulumi_cloud.cluster_issuer_url, doc="The cluster's OIDC issuer, exactly as its tokens' iss."
        ),
        "context": Field(text, doc="Kubeconfig context to use (default: its current context)."),
        "lookup": Field(kind="object", spec=LOOKUP, doc="Look the cluster up on GKE, EKS or AKS."),
        "identity_resource_group": Field(
            azure.resource_group_name,
            doc="AKS without a lookup: the resource group the workloads' identities are created in "
            "(region: azure-native:location).",
        ),
        "oidc_provider_arn": Field(
            aws.oidc_provider_arn, doc="EKS: the cluster's IAM OIDC provider; omit to create one."
        ),
    },
)

LOGIN_JOB = replace(
    login_job.LOGIN_JOB.only(
        "image",
        "token_expiration_seconds",
        "exchanged_token_lifetime",
        "active_deadline_seconds",
        "await_timeout_seconds",
        "backend_url",
        "canary_schedule",
    ),
    name="loginJob",
    rules=(),
)

ESC_STORE = replace(
    esc.ESC_STORE.only(
        "namespace",
        "name",
        "project",
        "environment",
        "role_id",
        "service_account",
        "cluster_scoped",
        "expiration_seconds",
        "api_url",
        "controller_namespace",
        "controller_service_account",
        "external_secrets",
    ),
    name="escStores",
)
"""An ESC store; its organization is the stack's (keyless:organization)."""

workload_ref = pattern(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    "a workload",
    "<namespace>/<serviceAccount> of a keyless:workloads entry",
)


OPERATOR_STACK = operator.OPERATOR_STACK.only(
    "name",
    "stack",
    "project_repo",
    "branch",
    "commit",
    "repo_dir",
    "program_ref",
    "config",
    "environment",
    "resync_frequency_seconds",
    "refresh",
    "destroy_on_finalize",
    "workspace_image",
    "exchanged_token_lifetime",
    "longest_update",
    "refresh_percent",
).extend(
    "operatorStacks",
    {
        "workload": required(
            workload_ref,
            doc="The workload (namespace/serviceAccount) whose account, cloud identity and Pulumi token the "
            "workspace uses.",
        )
    },
    (),
)
"""An Operator stack; the workload it names gives its service account, identity and token."""


@lru_cache(maxsize=4)
def _workflow_runner(registry: tuple[str, ...]) -> Spec:
    return runner.WORKFLOW_RUNNER.only(
        "namespace",
        "name",
        "pool_id",
        "pool_name",
        "single_run",
        "replicas",
        "image",
        "token_expiration",
        "token_expiration_seconds",
        "run_as_user",
        "worker_service_account",
    ).extend(
        "workflowRunners",
        {
            "identity_mode": _identity_mode_field("the worker (the account the workflow pods run as)"),
            # Not the fields of modes whose pods need a label: the agent starts the workflow pods.
            **{name: each for mode in identity.modes() if not mode.pod_labels for name, each in mode.fields.items()},
        },
    )


def workflow_runner() -> Spec:
    """A workflow runner's keys: its pool and agents, and its worker's identity mode and that mode's
    fields (as on a workload). Its organization is the stack's (keyless:organization)."""
    return _workflow_runner(identity.version())


_TRUST = pulumi_cloud.PULUMI_CLOUD_TRUST.fields
ISSUER = Spec(
    "issuer",
    {
        "name": Field(text, doc="Display name of the issuer in Pulumi Cloud (default: <project>-<stack>)."),
        "max_expiration_seconds": _TRUST["max_expiration_seconds"],
        "pin_audience": _TRUST["pin_audience"],
    },
)


def _workload_list(key: str, value: object) -> list[Problem]:

    if not isinstance(value, list) or not value:
        return [Problem(key, value, "is not accepted", "a non-empty list of workloads")]
    return []


@lru_cache(maxsize=4)
def _stack(registry: tuple[str, ...]) -> Spec:
    return Spec(
        NAMESPACE,
        {
            "cloud": required(choice(Cloud), doc="Where the cluster comes from: gke, eks, aks or existing."),
            "organization": _TRUST["organization"],
            "pod_security_level": replace(
                kubernetes.RESTRICTED_NAMESPACE.fields["pod_security_level"],
                doc="Pod Security Standard of the namespaces this stack creates.",
            ),
            "create_namespaces": Field(
                boolean,
                True,
                "bool",
                doc="Create the workloads' namespaces; false on a cluster whose namespaces others own.",
            ),
            "gke": Field(kind="object", spec=GKE, doc="cloud gke: the GKE cluster to create."),
            "eks": Field(kind="object", spec=EKS, doc="cloud eks: the EKS cluster to create (region: aws:region)."),
            "aks": Field(kind="object", spec=AKS, doc="cloud aks: the AKS cluster to create."),
            "existing": Field(kind="object", spec=EXISTING, doc="cloud existing: the cluster someone else runs."),
            "kubeconfig": Field(text, doc="cloud existing: a kubeconfig for the cluster, set as a secret."),
            "workloads": required(
                _workload_list,
                "objects",
                workload(),
                doc="The Kubernetes service accounts that get keyless access, each with its Pulumi token.",
            ),
            "login_job": Field(kind="object", spec=LOGIN_JOB, doc="The Job that proves the login on every pulumi up."),
            "issuer": Field(kind="object", spec=ISSUER, doc="The issuer registered in Pulumi Cloud."),
            "operator_stacks": Field(
                kind="objects",
                spec=OPERATOR_STACK,
                default=(),
                doc="Pulumi Kubernetes Operator stacks whose workspace logs in as a workload, no token.",
            ),
            "esc_stores": Field(
                kind="objects",
                spec=ESC_STORE,
                default=(),
                doc="External Secrets stores reading Pulumi ESC as their own service account, no token.",
            ),
            "workflow_runners": Field(
                kind="objects",
                spec=workflow_runner(),
                default=(),
                doc="Customer-managed workflow runners whose agents exchange their own token, no pool token.",
            ),
        },
        (pulumi_cloud.unique_service_accounts("workloads"),),
    )


def stack() -> Spec:
    """Every ``keyless:*`` key of a stack, as its component specs spell them."""
    return _stack(identity.version())


DEPRECATED: dict[str, dict[str, str]] = {
    # section → {old key: new key}; the old keys work until 0.3.0 with a warning.
    "": {"runner": "loginJob"},
    "workloads[]": {"runner": "runsLoginJob"},
}
