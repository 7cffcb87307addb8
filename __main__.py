"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster (keyless.clouds) ─▶ namespaces ─▶ each kind's entries (keyless.kinds), in order:
                    │       workloads        ServiceAccount + cloud identity
                    │       operatorStacks   a Stack whose workspace logs in as its workload
                    │       escStores        a store reading ESC as its own ServiceAccount
                    │       workflowRunners  a pool's agents + a worker with a cloud identity
                    └──▶ Pulumi Cloud trust (issuer + every entry's policies) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, each cloud in ``keyless.clouds``, each kind in ``keyless.kinds``, each identity
mode in ``keyless.identity``, and each cloud's SDK is imported only by the stacks that use that cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from keyless import clouds, identity, kinds
from keyless.components.oidc_login_job import OidcLoginJob
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.components.restricted_namespace import RestrictedNamespace
from keyless.components.workload_service_account import WorkloadServiceAccount
from keyless.config import StackConfig, from_runtime, parse

LOGIN_JOB = "oidc-login"
"""The login Job's resource name (and its pods' app.kubernetes.io/instance label)."""


def cloud_identities(
    config: StackConfig, cluster: clouds.Cluster
) -> Callable[[kinds.Account], identity.Created | None]:
    """How each account of the stack gets its cloud identity: its identity mode creates it, with
    what the mode needs of the cluster and every other account of the mode (an identity may be
    shared)."""
    peers: dict[str, list[identity.Peer]] = {}
    for account in config.accounts():
        if account.identity_mode is not None:
            peer = identity.Peer(account.namespace, account.name, account.identity_settings)
            peers.setdefault(account.identity_mode, []).append(peer)
    shared: dict[str, dict[str, Any]] = {}

    def create(account: kinds.Account) -> identity.Created | None:
        if account.identity_mode is None:
            return None
        mode = identity.get(account.identity_mode)
        binding = identity.Binding(
            name=account.resource_name,
            namespace=account.namespace,
            service_account=account.name,
            settings=account.identity_settings,
            cluster={fact: cluster.facts[fact] for fact in mode.needs},
            earlier_name=account.earlier_name,
            peers=tuple(peers.get(mode.name, ())),
            shared=shared.setdefault(mode.name, {}),
        )
        return mode.create(binding)

    return create


def create_namespaces(config: StackConfig, in_cluster: pulumi.ResourceOptions) -> dict[str, RestrictedNamespace]:
    if not config.create_namespaces:
        return {}
    return {name: RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster) for name in config.namespaces}


def create_entries(
    config: StackConfig, cluster: clouds.Cluster, namespaces: dict[str, RestrictedNamespace]
) -> kinds.Context:
    """Each kind's entries, in the registry's order (a kind may use what an earlier one made)."""
    context = kinds.Context(config.organization, cluster.kubernetes, namespaces, cloud_identities(config, cluster))
    for kind in kinds.kinds():
        entries = config.of(kind)
        if entries:
            context.made[kind.key] = kind.create(entries, context)
    return context


def run_login_job(
    config: StackConfig, cluster: clouds.Cluster, trust: PulumiCloudTrust, context: kinds.Context
) -> OidcLoginJob:
    login = config.login_workload
    assert login is not None
    account = context.account(login.reference)
    assert isinstance(account, WorkloadServiceAccount)
    return OidcLoginJob(
        LOGIN_JOB,
        config.login_job_args(account.namespace, account.name),
        # The first login must not race the issuer registration or the service account.
        opts=pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[trust, account]),
    )


def export_outputs(
    config: StackConfig,
    cluster: clouds.Cluster,
    trust: PulumiCloudTrust,
    context: kinds.Context,
    job: OidcLoginJob | None,
) -> None:
    login = config.login_workload
    if job is not None and login is not None:
        pulumi.export("loginJobName", job.job_name)
        pulumi.export("loginJobNamespace", login.namespace)
        pulumi.export("verifyLogin", pulumi.Output.concat("kubectl logs -n ", login.namespace, " job/", job.job_name))
        if config.login_job.get("canary_schedule"):
            selector = f"app.kubernetes.io/instance={LOGIN_JOB},app.kubernetes.io/component=login-canary"
            pulumi.export(
                "canaryRuns", f"kubectl get jobs -n {login.namespace} -l {selector} --sort-by=.status.startTime"
            )
            pulumi.export(
                "canaryLastLog",
                f"kubectl logs -n {login.namespace} $(kubectl get jobs -n {login.namespace} -l {selector} "
                "--sort-by=.status.startTime -o name | tail -n 1)",
            )
    pulumi.export("cloud", config.cloud)
    pulumi.export("issuerUrl", cluster.issuer_url)
    pulumi.export("pulumiAudience", trust.audience)
    for made in context.made.values():
        for name, value in made.outputs.items():
            pulumi.export(name, value)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


def main() -> None:
    config = parse(from_runtime())
    for warning in config.warnings:
        pulumi.log.warn(warning)

    cluster = config.create_cluster()
    namespaces = create_namespaces(config, pulumi.ResourceOptions(providers=[cluster.kubernetes]))
    context = create_entries(config, cluster, namespaces)

    policies = [policy for made in context.made.values() for policy in made.policies]
    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url, policies))

    job = None if config.login_workload is None else run_login_job(config, cluster, trust, context)
    export_outputs(config, cluster, trust, context, job)


main()
