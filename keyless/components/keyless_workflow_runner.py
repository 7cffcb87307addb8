"""A customer-managed workflow runner pool in the cluster whose agents exchange their own service
account's projected token for a ``runner`` token: no pool token in a Secret, an env var or an
output. The issuer's policy for the agent is ``workload_policy`` (give it to ``PulumiCloudTrust``);
the rules and the pod are :mod:`keyless.core.runner`'s."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_pulumiservice as pulumiservice

from keyless.components._common import child_opts, metadata_field, validated, wire
from keyless.core.kubernetes import egress_only, recommended_labels
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import pulumi_audience
from keyless.core.runner import (
    AGENT_ANNOTATIONS,
    WORKFLOW_RUNNER,
    agent_pod_spec,
    agent_role_rules,
    runner_policy,
    worker_service_account,
    workflow_pods,
)


class KeylessWorkflowRunnerArgs(TypedDict):
    """Plain values, but ``worker_annotations`` (the worker's identity, often an Output)."""

    namespace: str
    """Namespace of the agents, their workflow pods and both service accounts (it must exist)."""
    name: str
    """Name of the Deployment (or Job) and of the agents' service account."""
    organization: str
    """Pulumi organization of the pool; also fixes the token audience."""
    pool_id: NotRequired[str]
    """An existing runner pool's id (Settings → Workflow runner pools)."""
    pool_name: NotRequired[str]
    """Create a runner pool with this name instead; its creation-time token is never used or exported."""
    single_run: NotRequired[bool]
    """One Job whose agent claims one workflow and exits, instead of a Deployment (default false)."""
    replicas: NotRequired[int]
    """Agents in the Deployment, each running one deployment at a time (default 1)."""
    image: NotRequired[str]
    """Pinned agent image, also used for its workflow pods (default pulumi/customer-managed-workflow-agent:v2.1.1)."""
    token_expiration: NotRequired[str]
    """Lifetime of each runner token the agent requests (default 1h, at most the issuer's maximum)."""
    token_expiration_seconds: NotRequired[int]
    """Lifetime of the projected service-account token the kubelet rotates (default 3600)."""
    backend_url: NotRequired[str]
    """Pulumi Cloud API (default https://api.pulumi.com)."""
    run_as_user: NotRequired[int]
    """Non-root UID (and GID, fsGroup) of the agent (default 10001)."""
    worker_service_account: NotRequired[str]
    """The account the workflow pods run as (default <name>-worker); created here."""
    worker_annotations: NotRequired[Mapping[str, pulumi.Input[str]]]
    """The worker account's annotations: its cloud identity (from an identity mode)."""
    credential_endpoints: NotRequired[Sequence[str]]
    """The node-local endpoint the worker's cloud identity needs, by name (``gke-metadata-server`` or
    ``eks-pod-identity-agent``), that the workflow pods may reach (default none)."""
    workflow_egress_ports: NotRequired[Sequence[int]]
    """TCP ports the workflow pods may reach anywhere, besides DNS (default [443]; add 22 for git over
    SSH, or a database's port for a program that manages one)."""
    allow_reserved_namespace: NotRequired[bool]
    """Let it live in a reserved namespace (kube-system, kube-public, kube-node-lease, default),
    accepting that whoever may run pods there could act as its accounts (default false)."""


class KeylessWorkflowRunner(pulumi.ComponentResource):
    """Workflow runner agents that log in to Pulumi Cloud with their own service account."""

    pool_id: pulumi.Output[str]
    """The runner pool the agents serve."""
    service_account_name: pulumi.Output[str]
    """The agents' service account, which the issuer's policy names."""
    worker_service_account_name: pulumi.Output[str]
    """The account the workflow pods run as, which carries the cloud identity."""
    workload_policy: pulumi.Output[dict[str, Any]]
    """The issuer policy the agents need (a PulumiCloudTrust workload): a runner token for the pool."""

    def __init__(self, name: str, args: KeylessWorkflowRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(WORKFLOW_RUNNER, args)
        super().__init__(type_token("KeylessWorkflowRunner"), name, None, opts)

        namespace, agent = checked["namespace"], checked["name"]
        worker = worker_service_account(agent, checked["worker_service_account"])
        if checked["pool_name"] is not None:
            pool = pulumiservice.AgentPool(
                f"{name}-pool",
                pulumiservice.AgentPoolArgs(
                    name=checked["pool_name"],
                    organization_name=checked["organization"],
                    description=f"Keyless workflow runners {namespace}/{agent}",
                ),
                # Its token (tokenValue, which the SDK keeps secret) is read by nothing here.
                opts=child_opts(self),
            )
            pool_id: pulumi.Input[str] = pool.agent_pool_id
        else:
            pool_id = checked["pool_id"]

        k8s.core.v1.ServiceAccount(
            f"{name}-agent",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=agent, namespace=namespace, labels=recommended_labels(name, "runner-agent")
            ),
            opts=child_opts(self),
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-worker",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=worker,
                namespace=namespace,
                labels=recommended_labels(name, "runner-worker"),
                annotations=checked["worker_annotations"],
            ),
            # The workflow pods get their Pulumi token from the agent, and cloud credentials from
            # the identity webhook or metadata server; the Kubernetes API is not theirs to call.
            automount_service_account_token=False,
            opts=child_opts(self),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-agent",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=namespace, labels=recommended_labels(name, "runner-agent")),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=rule["apiGroups"], resources=rule["resources"], verbs=rule["verbs"]
                )
                for rule in agent_role_rules()
            ],
            opts=child_opts(self),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-agent",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=namespace, labels=recommended_labels(name, "runner-agent")),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=metadata_field(role.metadata, "name")
            ),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=agent, namespace=namespace)],
            opts=child_opts(self),
        )

        audience = pulumi_audience(checked["organization"])
        labels = recommended_labels(name, "runner-agent")
        restart = {"restartPolicy": "Never"} if checked["single_run"] else {}
        # Wire form (the pure builder's, tested directly); typed Any as the SDK takes it.
        template: pulumi.Output[Any] = pulumi.Output.from_input(pool_id).apply(
            lambda pool: {
                "metadata": {"labels": labels},
                "spec": {**agent_pod_spec(checked, agent, pool, audience), **restart},
            }
        )
        # No ingress; egress to DNS and HTTPS: Pulumi Cloud, the Kubernetes API (on 443, as on EKS,
        # GKE and AKS), the registry.
        policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-agent",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=namespace, labels=labels),
            spec=wire(egress_only({"matchLabels": labels})),
            opts=child_opts(self),
        )
        # The workflow pods hold a runner's Pulumi token and the worker's cloud identity: no ingress
        # (the agent reads them through the Kubernetes API), egress to DNS, the ports the programs
        # need, and the worker identity's own credential endpoint only.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-workflows",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=namespace, labels=recommended_labels(name, "runner-workflows")
            ),
            spec=wire(
                egress_only(workflow_pods(labels), checked["workflow_egress_ports"], checked["credential_endpoints"])
            ),
            opts=child_opts(self),
        )
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=agent, namespace=namespace, labels=labels, annotations=dict(AGENT_ANNOTATIONS)
        )
        # The agent starts pods as soon as it runs: its Role must be bound first.
        waits = child_opts(self, depends_on=[binding, policy])
        if checked["single_run"]:
            # It completes when a workflow has come and gone, not during `pulumi up`.
            metadata.annotations = {**AGENT_ANNOTATIONS, "pulumi.com/skipAwait": "true"}
            k8s.batch.v1.Job(
                name, metadata=metadata, spec=k8s.batch.v1.JobSpecArgs(backoff_limit=0, template=template), opts=waits
            )
        else:
            k8s.apps.v1.Deployment(
                name,
                metadata=metadata,
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=checked["replicas"],
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                    template=template,
                ),
                opts=waits,
            )

        self.pool_id = pulumi.Output.from_input(pool_id)
        self.service_account_name = pulumi.Output.from_input(agent)
        self.worker_service_account_name = pulumi.Output.from_input(worker)
        self.workload_policy = self.pool_id.apply(lambda pool: runner_policy(namespace, agent, pool))
        self.register_outputs(
            {
                "pool_id": self.pool_id,
                "service_account_name": self.service_account_name,
                "worker_service_account_name": self.worker_service_account_name,
                "workload_policy": self.workload_policy,
            }
        )
