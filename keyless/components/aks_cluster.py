"""An AKS cluster with its OIDC issuer and workload identity on, and the facts other components
need about it."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_azure_native.containerservice as aks
import pulumi_kubernetes as k8s
from pulumi_azure_native import resources

from keyless.components._common import child_opts, validated
from keyless.core.azure import AKS_CLUSTER, aks_issuer_url, dns_prefix, kubeconfig_from_credentials
from keyless.core.naming import type_token


class AksClusterArgs(TypedDict):
    location: pulumi.Input[str]
    """Azure region of the cluster (and of a resource group created for it)."""
    cluster_name: pulumi.Input[str]
    """Name of the managed cluster."""
    resource_group_name: NotRequired[pulumi.Input[str]]
    """An existing resource group to create the cluster in (default: a new group <cluster_name>-rg)."""
    kubernetes_version: NotRequired[pulumi.Input[str]]
    """Kubernetes version (default: AKS's default)."""
    node_count: NotRequired[pulumi.Input[int]]
    """Nodes in the system node pool (default 2)."""
    vm_size: NotRequired[pulumi.Input[str]]
    """VM size of the nodes (default Standard_D2s_v5)."""
    disable_local_accounts: NotRequired[bool]
    """Reach the cluster through Microsoft Entra ID only, with no static admin credentials (default
    true; needs admin_group_object_ids). The kubeconfig then runs kubelogin with the Azure CLI's login."""
    admin_group_object_ids: NotRequired[Sequence[str]]
    """Object ids of the Entra groups that administer the cluster (Kubernetes RBAC cluster-admin)."""
    enforce_network_policy: NotRequired[bool]
    """Azure CNI powered by Cilium, which enforces NetworkPolicy (default true). Set at creation only."""
    deletion_protection: NotRequired[bool]
    """Refuse to delete the cluster (Pulumi's `protect`; default true); set false for throwaway stacks."""


class AksCluster(pulumi.ComponentResource):
    """AKS cluster whose service accounts can act as Entra identities and log in to Pulumi Cloud."""

    issuer_url: pulumi.Output[str]
    """OIDC issuer of the cluster's service-account tokens, exactly as AKS reports it (trailing ``/``)."""
    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    resource_group_name: pulumi.Output[str]
    """The cluster's resource group, where its workloads' identities are created too."""
    location: pulumi.Output[str]
    """The cluster's region."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) from the cluster's user credentials: with local accounts off, it runs
    ``kubelogin get-token --login azurecli`` (the Azure CLI's login)."""

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(AKS_CLUSTER, args)
        super().__init__(type_token("AksCluster"), name, None, opts)

        group: pulumi.Input[str]
        if checked["resource_group_name"] is not None:
            group = checked["resource_group_name"]
        else:
            group = resources.ResourceGroup(
                f"{name}-group",
                resources.ResourceGroupArgs(
                    resource_group_name=pulumi.Output.from_input(checked["cluster_name"]).apply(lambda n: f"{n}-rg"),
                    location=checked["location"],
                ),
                opts=child_opts(self),
            ).name
        network = (
            aks.ContainerServiceNetworkProfileArgs(
                network_plugin=aks.NetworkPlugin.AZURE,
                network_plugin_mode=aks.NetworkPluginMode.OVERLAY,
                network_dataplane=aks.NetworkDataplane.CILIUM,
                network_policy=aks.NetworkPolicy.CILIUM,
            )
            if checked["enforce_network_policy"]
            else None
        )
        entra_only = bool(checked["disable_local_accounts"])
        # Keywords, not ManagedClusterArgs: the SDK spells the cluster's name resource_name_ there
        # (resource_name is the Pulumi resource's), and an Args object cannot carry it.
        cluster = aks.ManagedCluster(
            name,
            resource_group_name=group,
            resource_name_=checked["cluster_name"],
            location=checked["location"],
            dns_prefix=pulumi.Output.from_input(checked["cluster_name"]).apply(dns_prefix),
            kubernetes_version=checked["kubernetes_version"],
            identity=aks.ManagedClusterIdentityArgs(type=aks.ResourceIdentityType.SYSTEM_ASSIGNED),
            agent_pool_profiles=[
                aks.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode=aks.AgentPoolMode.SYSTEM,
                    count=checked["node_count"],
                    vm_size=checked["vm_size"],
                    os_type=aks.OSType.LINUX,
                )
            ],
            enable_rbac=True,
            # Static admin credentials bypass Entra ID; off, every login is an Entra identity.
            disable_local_accounts=entra_only,
            aad_profile=(
                aks.ManagedClusterAADProfileArgs(
                    managed=True, enable_azure_rbac=False, admin_group_object_ids=checked["admin_group_object_ids"]
                )
                if entra_only
                else None
            ),
            oidc_issuer_profile=aks.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=aks.ManagedClusterSecurityProfileArgs(
                workload_identity=aks.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True)
            ),
            network_profile=network,
            opts=child_opts(self, protect=checked["deletion_protection"]),
        )

        self.cluster_name = cluster.name
        self.resource_group_name = pulumi.Output.from_input(group)
        self.location = cluster.location
        self.issuer_url = cluster.oidc_issuer_profile.apply(aks_issuer_url)
        credentials = aks.list_managed_cluster_user_credentials_output(
            resource_group_name=group,
            resource_name=cluster.name,
            format="exec" if entra_only else None,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(credentials.kubeconfigs.apply(kubeconfig_from_credentials))
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child_opts(self),
        )
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "cluster_name": self.cluster_name,
                "resource_group_name": self.resource_group_name,
                "location": self.location,
                "kubeconfig": self.kubeconfig,
            }
        )
