"""A cluster this stack does not create: its issuer and a Kubernetes provider for it."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import InvalidArgumentError, child_opts, validated
from keyless.core.aws import eks_issuer_from_identities, eks_kubeconfig
from keyless.core.existing_cluster import EXISTING_CLUSTER
from keyless.core.gcp import gke_context_name, gke_issuer_url, gke_kubeconfig
from keyless.core.naming import type_token


class GkeClusterLookup(TypedDict):
    project: pulumi.Input[str]
    """Project of the cluster."""
    location: str
    """Region or zone of the cluster."""
    cluster_name: str
    """Name of the cluster."""


class EksClusterLookup(TypedDict):
    cluster_name: str
    """Name of the cluster."""
    region: NotRequired[str]
    """Region of the cluster (default: the AWS provider's)."""


class AksClusterLookup(TypedDict):
    resource_group_name: str
    """Resource group of the cluster."""
    cluster_name: str
    """Name of the cluster (it must have its OIDC issuer on)."""


class ExistingClusterArgs(TypedDict):
    issuer_url: NotRequired[pulumi.Input[str]]
    """The cluster's OIDC issuer; required unless a lookup derives it."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig reaching the cluster (treated as a secret); default: built from a lookup."""
    context: NotRequired[str]
    """Kubeconfig context to use (default: its current context)."""
    gke: NotRequired[GkeClusterLookup]
    """Look the cluster up on GKE (it must have Workload Identity enabled)."""
    eks: NotRequired[EksClusterLookup]
    """Look the cluster up on EKS."""
    aks: NotRequired[AksClusterLookup]
    """Look the cluster up on AKS (its kubeconfig: the user credentials, which may run kubelogin)."""


def _require_workload_identity(cluster_name: str, configs: list[object]) -> str:
    pools = [getattr(config, "workload_pool", None) for config in configs or []]
    if not pools or not pools[0]:
        raise InvalidArgumentError(
            f"gke: cluster {cluster_name!r} has no Workload Identity pool; enable Workload Identity on it "
            "(workload_identity_config.workload_pool = <project>.svc.id.goog) first"
        )
    return str(pools[0])


class ExistingCluster(pulumi.ComponentResource):
    """Brings a cluster created elsewhere: its issuer, kubeconfig and a Kubernetes provider."""

    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster's service-account tokens."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret)."""
    workload_pool: pulumi.Output[str | None]
    """GKE only: the cluster's workload identity pool."""
    cluster_arn: pulumi.Output[str | None]
    """EKS lookup only: the cluster's ARN (EKS Pod Identity needs it)."""
    location: pulumi.Output[str | None]
    """AKS lookup only: the cluster's region (its workloads' identities are created there)."""

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(EXISTING_CLUSTER, args)
        super().__init__(type_token("ExistingCluster"), name, None, opts)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        issuer_url: pulumi.Output[str]
        derived_kubeconfig: pulumi.Output[str] | None = None
        self.workload_pool = pulumi.Output.from_input(None)
        self.cluster_arn = pulumi.Output.from_input(None)
        self.location = pulumi.Output.from_input(None)

        gke_lookup = checked["gke"]
        eks_lookup = checked["eks"]
        aks_lookup = checked["aks"]
        if gke_lookup is not None:
            import pulumi_gcp.container as gke

            project = pulumi.Output.from_input(gke_lookup["project"])
            found = gke.get_cluster_output(
                name=gke_lookup["cluster_name"], location=gke_lookup["location"], project=project, opts=invoke_opts
            )
            issuer_url = project.apply(lambda p: gke_issuer_url(p, gke_lookup["location"], gke_lookup["cluster_name"]))
            self.workload_pool = found.workload_identity_configs.apply(
                lambda configs: _require_workload_identity(gke_lookup["cluster_name"], configs)
            )
            derived_kubeconfig = pulumi.Output.all(
                project, found.endpoint, found.master_auths.apply(lambda auths: auths[0].cluster_ca_certificate)
            ).apply(
                lambda parts: gke_kubeconfig(
                    gke_context_name(parts[0], gke_lookup["location"], gke_lookup["cluster_name"]), parts[1], parts[2]
                )
            )
        elif eks_lookup is not None:
            from pulumi_aws import eks

            found_eks = eks.get_cluster_output(
                name=eks_lookup["cluster_name"], region=eks_lookup.get("region"), opts=invoke_opts
            )
            issuer_url = found_eks.identities.apply(eks_issuer_from_identities)
            self.cluster_arn = found_eks.arn
            derived_kubeconfig = pulumi.Output.all(
                found_eks.endpoint, found_eks.certificate_authorities.apply(lambda authorities: authorities[0].data)
            ).apply(
                lambda parts: eks_kubeconfig(eks_lookup["cluster_name"], parts[0], parts[1], eks_lookup.get("region"))
            )
        elif aks_lookup is not None:
            import pulumi_azure_native.containerservice as aks

            from keyless.core.azure import aks_issuer_url, kubeconfig_from_credentials

            found_aks = aks.get_managed_cluster_output(
                resource_group_name=aks_lookup["resource_group_name"],
                resource_name=aks_lookup["cluster_name"],
                opts=invoke_opts,
            )
            issuer_url = found_aks.oidc_issuer_profile.apply(aks_issuer_url)
            self.location = found_aks.location
            derived_kubeconfig = aks.list_managed_cluster_user_credentials_output(
                resource_group_name=aks_lookup["resource_group_name"],
                resource_name=aks_lookup["cluster_name"],
                format="exec",
                opts=invoke_opts,
            ).kubeconfigs.apply(kubeconfig_from_credentials)
        if checked["issuer_url"] is not None:
            issuer_url = pulumi.Output.from_input(checked["issuer_url"])

        given_kubeconfig = checked["kubeconfig"]
        kubeconfig = pulumi.Output.from_input(given_kubeconfig) if given_kubeconfig is not None else derived_kubeconfig
        assert kubeconfig is not None  # EXISTING_CLUSTER requires one source
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.issuer_url = issuer_url
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            context=checked["context"],
            enable_server_side_apply=True,
            opts=child_opts(self),
        )
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "kubeconfig": self.kubeconfig,
                "workload_pool": self.workload_pool,
                "cluster_arn": self.cluster_arn,
                "location": self.location,
            }
        )
