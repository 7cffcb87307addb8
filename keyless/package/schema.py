"""What the ``keyless`` component package serves, kept apart from the host so tests can read it."""

from typing import Any

import pulumi

from keyless import __version__
from keyless.core.naming import PACKAGE, type_token

PACKAGE_NAME = PACKAGE
VERSION = __version__


def served_components() -> list[type[pulumi.ComponentResource]]:
    from keyless.components.aks_cluster import AksCluster
    from keyless.components.azure_workload_identity import AzureWorkloadIdentity
    from keyless.components.eks_cluster import EksCluster
    from keyless.components.eks_oidc_provider import EksOidcProvider
    from keyless.components.eks_pod_identity import EksPodIdentity
    from keyless.components.existing_cluster import ExistingCluster
    from keyless.components.gcp_workload_identity import GcpWorkloadIdentity
    from keyless.components.gke_cluster import GkeCluster
    from keyless.components.gke_workload_principal import GkeWorkloadPrincipal
    from keyless.components.irsa_role import IrsaRole
    from keyless.components.keyless_esc_store import KeylessEscStore
    from keyless.components.keyless_operator_stack import KeylessOperatorStack
    from keyless.components.keyless_pulumi_sidecar import KeylessPulumiSidecar
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner
    from keyless.components.oidc_login_job import OidcLoginJob, OidcLoginRunner
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
    from keyless.components.restricted_namespace import RestrictedNamespace
    from keyless.components.workload_service_account import WorkloadServiceAccount

    return [
        GkeCluster,
        GcpWorkloadIdentity,
        GkeWorkloadPrincipal,
        EksCluster,
        EksOidcProvider,
        IrsaRole,
        EksPodIdentity,
        AksCluster,
        AzureWorkloadIdentity,
        ExistingCluster,
        RestrictedNamespace,
        WorkloadServiceAccount,
        PulumiCloudTrust,
        OidcLoginJob,
        OidcLoginRunner,
        KeylessPulumiSidecar,
        KeylessEscStore,
        KeylessOperatorStack,
        KeylessWorkflowRunner,
    ]


def without_nulls(value: Any) -> Any:
    """``value`` with every ``null`` member dropped: the SDK writes ``"description": null`` on enum
    values, where Pulumi's package metaschema requires a string when the key is present."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def with_renames(schema: dict[str, Any], components: list[type[pulumi.ComponentResource]]) -> dict[str, Any]:
    """``schema`` with each component's earlier type tokens as ``aliases`` (an SDK generated from it
    moves a live stack's resources instead of replacing them) and a deprecated name's
    ``deprecationMessage``, which the SDK infers from neither."""
    resources = schema["resources"]
    for component in components:
        resource = resources[type_token(component.__name__)]
        earlier = getattr(component, "_earlier_type_names", ())
        if earlier:
            resource["aliases"] = [{"type": type_token(name)} for name in earlier]
        deprecated = getattr(component, "_deprecated", None)
        if deprecated:
            resource["deprecationMessage"] = deprecated
    return schema


def provider() -> Any:
    """The SDK's component provider for the served components, serving a schema Pulumi accepts."""
    import json

    from pulumi.provider.experimental.component import ComponentProvider

    components = served_components()
    served = ComponentProvider(components, PACKAGE_NAME, None, VERSION)
    served.schema = json.dumps(with_renames(without_nulls(json.loads(str(served.schema))), components))
    return served


def package_schema() -> dict[str, Any]:
    """The Pulumi package schema the provider serves, built offline from the type annotations."""
    import json

    return dict(json.loads(provider().schema))
