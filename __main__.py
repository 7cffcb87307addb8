"""Keyless access from Kubernetes workloads to Pulumi Cloud and to their cloud account.

    config ─▶ cluster ─▶ per workload: namespace, cloud identity, ServiceAccount
                    └──▶ Pulumi Cloud trust (issuer + one policy per workload) ─▶ login Job

The stack config is validated as a whole before any resource is registered; every rule lives in
``keyless.core``, and each cloud's SDK is imported only by the stacks that use that cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from keyless.components._common import aliases
from keyless.components.oidc_login_runner import OidcLoginRunner
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.components.restricted_namespace import RestrictedNamespace
from keyless.components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs
from keyless.config import StackConfig, WorkloadConfig, from_runtime, parse
from keyless.core.gcp import workload_pool
from keyless.core.identity import IdentityMode

if TYPE_CHECKING:
    from keyless.components.eks_oidc_provider import EksOidcProviderArgs

LOGIN_JOB = "oidc-login"
"""The login Job's resource name (and its pods' app.kubernetes.io/instance label)."""


@dataclass
class Cluster:
    """What the rest of the program needs of a cluster, whoever created it."""

    issuer_url: pulumi.Output[str]
    kubernetes: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    name: pulumi.Output[str] | None = None
    workload_pool: pulumi.Output[str] | None = None
    oidc_provider_arn: pulumi.Output[str] | None = None
    arn: pulumi.Output[str] | None = None
    project_number: pulumi.Output[str] | None = None
    lookup_name: pulumi.Output[str] | None = None
    """The name of a cluster looked up rather than created (not exported as clusterName)."""


def create_cluster(config: StackConfig) -> Cluster:
    if config.gke is not None:
        from keyless.components.gke_cluster import GkeCluster

        gke = GkeCluster("cluster", config.gke)
        cluster = Cluster(gke.issuer_url, gke.kubernetes_provider, gke.kubeconfig, gke.cluster_name, gke.workload_pool)
    elif config.eks is not None:
        from keyless.components.eks_cluster import EksCluster

        eks = EksCluster("cluster", config.eks.cluster_args)
        cluster = Cluster(
            eks.issuer_url, eks.kubernetes_provider, eks.kubeconfig, eks.cluster_name, arn=eks.cluster_arn
        )
        if config.uses(IdentityMode.IRSA):  # EKS Pod Identity needs no OIDC provider
            cluster.oidc_provider_arn = oidc_provider_arn(
                eks.issuer_url, config.eks.oidc_provider_arn, config.eks.oidc_provider_args
            )
    else:
        cluster = existing_cluster(config)
    if config.uses(IdentityMode.DIRECT):
        cluster.project_number = project_number(config)
    return cluster


def existing_cluster(config: StackConfig) -> Cluster:
    from keyless.components.existing_cluster import ExistingCluster

    existing = config.existing
    assert existing is not None  # the config has exactly one cluster section
    args = existing.cluster_args.copy()
    if "kubeconfig" in args:
        args["kubeconfig"] = pulumi.Output.secret(args["kubeconfig"])
    found = ExistingCluster("cluster", args)
    cluster = Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig)
    if existing.identity_cloud == "gke":
        cluster.workload_pool = found.workload_pool.apply(lambda p: p or workload_pool(str(existing.gcp_project)))
    if existing.identity_cloud == "eks" and config.uses(IdentityMode.IRSA):
        cluster.oidc_provider_arn = oidc_provider_arn(
            found.issuer_url, existing.oidc_provider_arn, lambda url: {"issuer_url": url}
        )
    if config.uses(IdentityMode.POD_IDENTITY):  # the config requires a lookup for it
        lookup = existing.cluster_args.get("eks")
        cluster.lookup_name = pulumi.Output.from_input(lookup["cluster_name"] if lookup else "")
        cluster.arn = found.cluster_arn.apply(lambda value: value or "")
    return cluster


def project_number(config: StackConfig) -> pulumi.Output[str]:
    """The GKE project's number, looked up once per stack: direct principals name it."""
    from pulumi_gcp import organizations

    return organizations.get_project_output(project_id=config.gcp_project).number.apply(lambda n: str(n or ""))


def oidc_provider_arn(
    issuer_url: pulumi.Output[str], given: str | None, args_for: Callable[[pulumi.Output[str]], EksOidcProviderArgs]
) -> pulumi.Output[str]:
    """The cluster's IAM OIDC provider: the one given, or a new one for its issuer."""
    if given is not None:
        return pulumi.Output.from_input(given)
    from keyless.components.eks_oidc_provider import EksOidcProvider

    return EksOidcProvider("oidc-provider", args_for(issuer_url)).arn


def renamed(workload: WorkloadConfig, **options: Any) -> pulumi.ResourceOptions:
    """Options for a workload's component: its earlier name is an alias, so a stack deployed
    before the "." join moves the component and its children instead of replacing them."""
    return pulumi.ResourceOptions(aliases=aliases(workload.earlier_resource_name), **options)


def cloud_identity(
    config: StackConfig, cluster: Cluster, workload: WorkloadConfig, args: WorkloadServiceAccountArgs
) -> pulumi.Input[str] | None:
    """The workload's cloud identity, created here; the ServiceAccount's annotation goes into ``args``.
    Returns what the workload acts as in its cloud (the ``cloudIdentity`` output)."""
    mode = workload.identity_mode
    if mode == IdentityMode.GCP_SERVICE_ACCOUNT:
        from keyless.components.gcp_workload_identity import GcpWorkloadIdentity

        identity = workload.gcp_identity_args(config.gcp_project, cluster.workload_pool)
        gsa = GcpWorkloadIdentity(workload.resource_name, identity, renamed(workload))
        args["gcp_service_account_email"] = gsa.email
        return gsa.email
    if mode == IdentityMode.DIRECT:
        from keyless.components.gke_workload_principal import GkeWorkloadPrincipal

        grants = workload.principal_args(config.gcp_project, cluster.project_number, cluster.workload_pool)
        # No annotation: the principal is the Kubernetes service account itself.
        return GkeWorkloadPrincipal(workload.resource_name, grants).principal
    if mode == IdentityMode.IRSA:
        from keyless.components.irsa_role import IrsaRole

        role = workload.irsa_args(cluster.oidc_provider_arn, cluster.issuer_url)
        args["aws_role_arn"] = IrsaRole(workload.resource_name, role, renamed(workload)).arn
        return args["aws_role_arn"]
    if mode == IdentityMode.POD_IDENTITY:
        from keyless.components.eks_pod_identity import EksPodIdentity

        association = workload.pod_identity_args(cluster.name or cluster.lookup_name, cluster.arn)
        # No annotation: the association binds the role.
        return EksPodIdentity(workload.resource_name, association).role_arn
    return None


def create_namespaces(config: StackConfig, in_cluster: pulumi.ResourceOptions) -> dict[str, pulumi.Input[str]]:
    """The workloads' namespaces; on a shared cluster they may belong to others, and are only referred to."""
    if not config.create_namespaces:
        return {name: name for name in config.namespaces}
    return {
        name: RestrictedNamespace(name, config.namespace_args(name), opts=in_cluster).name for name in config.namespaces
    }


def run_login_job(
    config: StackConfig, cluster: Cluster, trust: PulumiCloudTrust, account: WorkloadServiceAccount
) -> OidcLoginRunner:
    return OidcLoginRunner(
        LOGIN_JOB,
        config.login_job_args(account.namespace, account.name),
        # The first login must not race the issuer registration or the service account.
        opts=pulumi.ResourceOptions(providers=[cluster.kubernetes], depends_on=[trust, account]),
    )


def export_outputs(
    config: StackConfig,
    cluster: Cluster,
    trust: PulumiCloudTrust,
    identities: dict[str, pulumi.Input[str] | None],
    job: OidcLoginRunner | None,
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
    workloads = [
        {
            "namespace": w.namespace,
            "serviceAccount": w.service_account,
            "tokenType": w.token_type,
            "cloudIdentity": identities[w.resource_name],
        }
        for w in config.workloads
    ]
    pulumi.export("workloads", workloads)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    if cluster.name is not None:
        pulumi.export("clusterName", cluster.name)


def main() -> None:
    config = parse(from_runtime())
    for warning in config.warnings:
        pulumi.log.warn(warning)

    cluster = create_cluster(config)
    in_cluster = pulumi.ResourceOptions(providers=[cluster.kubernetes])
    namespaces = create_namespaces(config, in_cluster)

    accounts: dict[str, WorkloadServiceAccount] = {}
    identities: dict[str, pulumi.Input[str] | None] = {}
    for workload in config.workloads:
        args: WorkloadServiceAccountArgs = {
            "namespace": namespaces[workload.namespace],
            "name": workload.service_account,
        }
        identities[workload.resource_name] = cloud_identity(config, cluster, workload, args)
        account = WorkloadServiceAccount(
            workload.resource_name, args, renamed(workload, providers=[cluster.kubernetes])
        )
        accounts[workload.resource_name] = account

    trust = PulumiCloudTrust("pulumi-cloud", config.trust_args(cluster.issuer_url))

    login = config.login_workload
    job = None if login is None else run_login_job(config, cluster, trust, accounts[login.resource_name])
    export_outputs(config, cluster, trust, identities, job)


main()
