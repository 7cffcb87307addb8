"""Reusable Pulumi components for keyless Kubernetes access to Pulumi Cloud and cloud accounts.

Each component lives in its own module and pulls in only the provider SDK it needs;
``from keyless.components import IrsaRole`` loads ``pulumi_aws.iam`` and nothing of Google Cloud or Azure.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from keyless import __version__
from keyless.core.gcp import ReleaseChannel
from keyless.core.kubernetes import PodSecurityLevel
from keyless.core.problems import InvalidArgumentError
from keyless.core.pulumi_cloud import PermissionLevel, TokenType

_EXPORTS = {
    "AksCluster": "aks_cluster",
    "AksClusterArgs": "aks_cluster",
    "AzureWorkloadIdentity": "azure_workload_identity",
    "AzureWorkloadIdentityArgs": "azure_workload_identity",
    "AzureRoleAssignment": "azure_workload_identity",
    "AzureServiceAccount": "azure_workload_identity",
    "GkeCluster": "gke_cluster",
    "GkeClusterArgs": "gke_cluster",
    "GcpWorkloadIdentity": "gcp_workload_identity",
    "GcpWorkloadIdentityArgs": "gcp_workload_identity",
    "EksCluster": "eks_cluster",
    "EksClusterArgs": "eks_cluster",
    "EksOidcProvider": "eks_oidc_provider",
    "EksOidcProviderArgs": "eks_oidc_provider",
    "EksPodIdentity": "eks_pod_identity",
    "EksPodIdentityArgs": "eks_pod_identity",
    "GkeWorkloadPrincipal": "gke_workload_principal",
    "GkeWorkloadPrincipalArgs": "gke_workload_principal",
    "IrsaRole": "irsa_role",
    "IrsaRoleArgs": "irsa_role",
    "KeylessEscStore": "keyless_esc_store",
    "KeylessEscStoreArgs": "keyless_esc_store",
    "ExternalSecretSpec": "keyless_esc_store",
    "KeylessOperatorStack": "keyless_operator_stack",
    "KeylessOperatorStackArgs": "keyless_operator_stack",
    "KeylessPulumiSidecar": "keyless_pulumi_sidecar",
    "KeylessWorkflowRunner": "keyless_workflow_runner",
    "KeylessWorkflowRunnerArgs": "keyless_workflow_runner",
    "KeylessPulumiSidecarArgs": "keyless_pulumi_sidecar",
    "ServiceAccountRef": "irsa_role",
    "ExistingCluster": "existing_cluster",
    "ExistingClusterArgs": "existing_cluster",
    "RestrictedNamespace": "restricted_namespace",
    "RestrictedNamespaceArgs": "restricted_namespace",
    "WorkloadServiceAccount": "workload_service_account",
    "WorkloadServiceAccountArgs": "workload_service_account",
    "PulumiCloudTrust": "pulumi_cloud_trust",
    "PulumiCloudTrustArgs": "pulumi_cloud_trust",
    "WorkloadPolicy": "pulumi_cloud_trust",
    "OidcLoginJob": "oidc_login_job",
    "OidcLoginJobArgs": "oidc_login_job",
    "OidcLoginRunner": "oidc_login_job",
    "OidcLoginRunnerArgs": "oidc_login_job",
}

__all__ = [
    "AksCluster",
    "AksClusterArgs",
    "AzureRoleAssignment",
    "AzureServiceAccount",
    "AzureWorkloadIdentity",
    "AzureWorkloadIdentityArgs",
    "EksCluster",
    "EksClusterArgs",
    "EksOidcProvider",
    "EksOidcProviderArgs",
    "EksPodIdentity",
    "EksPodIdentityArgs",
    "ExistingCluster",
    "ExistingClusterArgs",
    "ExternalSecretSpec",
    "GcpWorkloadIdentity",
    "GcpWorkloadIdentityArgs",
    "GkeCluster",
    "GkeClusterArgs",
    "GkeWorkloadPrincipal",
    "GkeWorkloadPrincipalArgs",
    "InvalidArgumentError",
    "IrsaRole",
    "IrsaRoleArgs",
    "KeylessEscStore",
    "KeylessEscStoreArgs",
    "KeylessOperatorStack",
    "KeylessOperatorStackArgs",
    "KeylessPulumiSidecar",
    "KeylessPulumiSidecarArgs",
    "KeylessWorkflowRunner",
    "KeylessWorkflowRunnerArgs",
    "OidcLoginJob",
    "OidcLoginJobArgs",
    "OidcLoginRunner",
    "OidcLoginRunnerArgs",
    "PermissionLevel",
    "PodSecurityLevel",
    "PulumiCloudTrust",
    "PulumiCloudTrustArgs",
    "ReleaseChannel",
    "RestrictedNamespace",
    "RestrictedNamespaceArgs",
    "ServiceAccountRef",
    "TokenType",
    "WorkloadPolicy",
    "WorkloadServiceAccount",
    "WorkloadServiceAccountArgs",
    "__version__",
]

if TYPE_CHECKING:
    from keyless.components.aks_cluster import AksCluster, AksClusterArgs
    from keyless.components.azure_workload_identity import (
        AzureRoleAssignment,
        AzureServiceAccount,
        AzureWorkloadIdentity,
        AzureWorkloadIdentityArgs,
    )
    from keyless.components.eks_cluster import EksCluster, EksClusterArgs
    from keyless.components.eks_oidc_provider import EksOidcProvider, EksOidcProviderArgs
    from keyless.components.eks_pod_identity import EksPodIdentity, EksPodIdentityArgs
    from keyless.components.existing_cluster import ExistingCluster, ExistingClusterArgs
    from keyless.components.gcp_workload_identity import GcpWorkloadIdentity, GcpWorkloadIdentityArgs
    from keyless.components.gke_cluster import GkeCluster, GkeClusterArgs
    from keyless.components.gke_workload_principal import GkeWorkloadPrincipal, GkeWorkloadPrincipalArgs
    from keyless.components.irsa_role import IrsaRole, IrsaRoleArgs, ServiceAccountRef
    from keyless.components.keyless_esc_store import ExternalSecretSpec, KeylessEscStore, KeylessEscStoreArgs
    from keyless.components.keyless_operator_stack import KeylessOperatorStack, KeylessOperatorStackArgs
    from keyless.components.keyless_pulumi_sidecar import KeylessPulumiSidecar, KeylessPulumiSidecarArgs
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner, KeylessWorkflowRunnerArgs
    from keyless.components.oidc_login_job import (
        OidcLoginJob,
        OidcLoginJobArgs,
        OidcLoginRunner,
        OidcLoginRunnerArgs,
    )
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrust, PulumiCloudTrustArgs, WorkloadPolicy
    from keyless.components.restricted_namespace import RestrictedNamespace, RestrictedNamespaceArgs
    from keyless.components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keyless.components' has no attribute {name!r}")
    return getattr(import_module(f"keyless.components.{module}"), name)
