"""What the ``keyless`` component package serves, kept apart from the host so tests can read it."""

from typing import Any

import pulumi

from keyless import __version__
from keyless.core.naming import PACKAGE

PACKAGE_NAME = PACKAGE
VERSION = __version__


def served_components() -> list[type[pulumi.ComponentResource]]:
    from components.eks_cluster import EksCluster
    from components.eks_oidc_provider import EksOidcProvider
    from components.eks_pod_identity import EksPodIdentity
    from components.existing_cluster import ExistingCluster
    from components.gcp_workload_identity import GcpWorkloadIdentity
    from components.gke_cluster import GkeCluster
    from components.gke_workload_principal import GkeWorkloadPrincipal
    from components.irsa_role import IrsaRole
    from components.keyless_pulumi_sidecar import KeylessPulumiSidecar
    from components.oidc_login_runner import OidcLoginRunner
    from components.pulumi_cloud_trust import PulumiCloudTrust
    from components.restricted_namespace import RestrictedNamespace
    from components.workload_service_account import WorkloadServiceAccount

    return [
        GkeCluster,
        GcpWorkloadIdentity,
        GkeWorkloadPrincipal,
        EksCluster,
        EksOidcProvider,
        IrsaRole,
        EksPodIdentity,
        ExistingCluster,
        RestrictedNamespace,
        WorkloadServiceAccount,
        PulumiCloudTrust,
        OidcLoginRunner,
        KeylessPulumiSidecar,
    ]


def package_schema() -> dict[str, Any]:
    """The Pulumi package schema the provider serves, built offline from the type annotations."""
    import json

    from pulumi.provider.experimental.component import ComponentProvider

    provider = ComponentProvider(served_components(), PACKAGE_NAME, None, VERSION)
    schema: Any = getattr(provider, "schema", None)
    return dict(json.loads(schema))
