"""An External Secrets store for one Pulumi ESC environment that authenticates as its own service
account: no access token anywhere. The issuer's policy for it is ``workload_policy`` (give it to
``PulumiCloudTrust``): an organization token with a role, pinned to the store's account."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from keyless.components._common import child_opts, metadata_field, validated
from keyless.core.esc import (
    API_VERSION,
    ESC_STORE,
    environment_ref,
    external_secret_spec,
    store_kind,
    store_service_account,
    store_spec,
    token_request_rules,
    workload_policy,
)
from keyless.core.kubernetes import recommended_labels
from keyless.core.naming import type_token
from keyless.core.pulumi_cloud import pulumi_audience


class ExternalSecretSpec(TypedDict):
    name: str
    """The ExternalSecret, and the Kubernetes Secret it writes in the store's namespace."""
    keys: Mapping[str, str]
    """Secret key → the environment's value path, e.g. {"DB_PASSWORD": "database.password"}."""
    refresh_interval: NotRequired[str]
    """How often External Secrets re-reads the environment (default 1h)."""


class KeylessEscStoreArgs(TypedDict):
    """Plain values: the store's spec is written from them as they are (no Outputs)."""

    namespace: str
    """Namespace of the store, its service account and its ExternalSecrets."""
    name: str
    """Name of the store (a SecretStore, or a ClusterSecretStore with cluster_scoped)."""
    organization: str
    """Pulumi organization of the environment; also fixes the token audience."""
    project: str
    """ESC project of the environment."""
    environment: str
    """ESC environment the store reads."""
    role_id: str
    """Role of the organization token External Secrets obtains: give it environment read (and open)."""
    service_account: NotRequired[str]
    """The store's own service account (default <name>-esc); created here."""
    cluster_scoped: NotRequired[bool]
    """A ClusterSecretStore instead of a SecretStore (default false)."""
    allowed_namespaces: NotRequired[Sequence[str]]
    """A ClusterSecretStore's readers: the namespaces whose ExternalSecrets may use it (its
    ``conditions``; default: the store's own namespace only, never every namespace)."""
    expiration_seconds: NotRequired[int]
    """Lifetime of the token External Secrets requests, at least 600 (default 600)."""
    api_url: NotRequired[str]
    """Pulumi ESC API (default https://api.pulumi.com/api/esc)."""
    controller_namespace: NotRequired[str]
    """Namespace of the External Secrets controller (default external-secrets)."""
    controller_service_account: NotRequired[str]
    """Service account of the External Secrets controller (default external-secrets)."""
    external_secrets: NotRequired[Sequence[ExternalSecretSpec]]
    """ExternalSecrets reading the environment into Kubernetes Secrets."""
    allow_reserved_namespace: NotRequired[bool]
    """Let it live in a reserved namespace (kube-system, kube-public, kube-node-lease, default, or its controller's),
    accepting that whoever may run pods there could act as its accounts (default false)."""


class KeylessEscStore(pulumi.ComponentResource):
    """A Pulumi ESC store that authenticates with its service account's projected token."""

    store_name: pulumi.Output[str]
    """Name of the SecretStore (or ClusterSecretStore)."""
    service_account_name: pulumi.Output[str]
    """The store's service account, which the issuer's policy names."""
    audience: pulumi.Output[str]
    """Audience of the token External Secrets mints: urn:pulumi:org:<org>."""
    environment_ref: pulumi.Output[str]
    """The environment, as ``pulumi env open`` names it: <org>/<project>/<env>."""
    workload_policy: pulumi.Output[dict[str, Any]]
    """The issuer policy the store needs (a PulumiCloudTrust workload): organization token, its role."""

    def __init__(self, name: str, args: KeylessEscStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(ESC_STORE, args)
        super().__init__(type_token("KeylessEscStore"), name, None, opts)

        namespace, store = checked["namespace"], checked["name"]
        account_name = store_service_account(store, checked["service_account"])
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=account_name, namespace=namespace, labels=recommended_labels(name, "esc-service-account")
            ),
            # External Secrets mints the token through the TokenRequest API; pods mount none.
            automount_service_account_token=False,
            opts=child_opts(self),
        )
        # What the controller needs to mint this account's token. It is the whole grant only where
        # External Secrets' chart runs with rbac.serviceAccountTokenCreate=false; by default its
        # ClusterRole already mints tokens for every account (keyless.core.esc).
        role = k8s.rbac.v1.Role(
            f"{name}-token-request",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=namespace, labels=recommended_labels(name, "esc-token-request")
            ),
            rules=[k8s.rbac.v1.PolicyRuleArgs(**_snake(rule)) for rule in token_request_rules(account_name)],
            opts=child_opts(self),
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-token-request",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=namespace, labels=recommended_labels(name, "esc-token-request")
            ),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=metadata_field(role.metadata, "name")
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=checked["controller_service_account"],
                    namespace=checked["controller_namespace"],
                )
            ],
            opts=child_opts(self),
        )
        kind = store_kind(bool(checked["cluster_scoped"]))
        metadata: dict[str, Any] = {"name": store, "labels": recommended_labels(name, "esc-store")}
        if not checked["cluster_scoped"]:
            metadata["namespace"] = namespace
        store_resource = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version=API_VERSION,
            kind=kind,
            metadata=metadata,
            spec=store_spec(checked, account_name),
            opts=child_opts(self, depends_on=[account]),
        )
        for secret in checked["external_secrets"] or ():
            k8s.apiextensions.CustomResource(
                f"{name}-{secret['name']}",
                api_version=API_VERSION,
                kind="ExternalSecret",
                metadata={
                    "name": secret["name"],
                    "namespace": namespace,
                    "labels": recommended_labels(name, "esc-external-secret"),
                },
                spec=external_secret_spec(store, bool(checked["cluster_scoped"]), secret),
                opts=child_opts(self, depends_on=[store_resource]),
            )

        self.store_name = pulumi.Output.from_input(store)
        self.service_account_name = pulumi.Output.from_input(account_name)
        self.audience = pulumi.Output.from_input(pulumi_audience(checked["organization"]))
        self.environment_ref = pulumi.Output.from_input(
            environment_ref(checked["organization"], checked["project"], checked["environment"])
        )
        self.workload_policy = pulumi.Output.from_input(workload_policy(namespace, account_name, checked["role_id"]))
        self.register_outputs(
            {
                "store_name": self.store_name,
                "service_account_name": self.service_account_name,
                "audience": self.audience,
                "environment_ref": self.environment_ref,
                "workload_policy": self.workload_policy,
            }
        )


def _snake(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A wire-form RBAC rule as ``PolicyRuleArgs`` keywords."""
    names = {"apiGroups": "api_groups", "resourceNames": "resource_names"}
    return {names.get(key, key): value for key, value in rule.items()}
