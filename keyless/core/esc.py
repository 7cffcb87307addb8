"""Pulumi ESC for applications, with no token: an External Secrets store that authenticates as its
own Kubernetes service account (External Secrets v2.9.0, ``spec.provider.pulumi.auth.oidcConfig``).

External Secrets' controller mints the account's token itself (TokenRequest: ``create`` on
``serviceaccounts/token`` for that account) with ``serviceAccountRef.audiences`` as the audience (the
API's base URL, ``https://api.pulumi.com``, when unset) and requests an **organization** token for
``expirationSeconds`` (at least 600).

The per-store Role is the controller's whole grant only where its Helm chart is installed with
``rbac.serviceAccountTokenCreate=false``: by default the chart's ClusterRole already lets the
controller mint a token for every service account of the cluster.
So the store names the audience ``urn:pulumi:org:<org>`` and the issuer needs an organization-token
policy with a role, pinned to that account. The store, its ExternalSecrets and this module's rules
are checked against the CRDs in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyless.core import tenancy
from keyless.core.kubernetes import account_named_after
from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.pulumi_cloud import TokenType, organization_name, pulumi_audience
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import (
    boolean,
    dns1123_label,
    first,
    https_url,
    identifier,
    int_range,
    list_of,
    pattern,
    text,
)

API_VERSION = "external-secrets.io/v1"
DEFAULT_API_URL = "https://api.pulumi.com/api/esc"
MIN_EXPIRATION_SECONDS = 600
"""External Secrets' minimum (and default) lifetime of the token it requests."""
DEFAULT_CONTROLLER_NAMESPACE = "external-secrets"
DEFAULT_CONTROLLER_SERVICE_ACCOUNT = "external-secrets"
"""Where External Secrets' Helm chart runs its controller by default."""
DEFAULT_REFRESH_INTERVAL = "1h"

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
esc_name = pattern(
    _NAME,
    "a Pulumi ESC project or environment name",
    "letters, digits, '-', '_' and '.', starting with a letter or digit",
)
project_environment = pattern(
    f"{_NAME}/{_NAME}",
    "an ESC environment",
    "<project>/<environment>, in the stack's organization",
)
secret_key = pattern(
    r"[-._a-zA-Z0-9]{1,253}", "a Kubernetes Secret key", "letters, digits, '-', '_' and '.' (1-253 characters)"
)
value_path = first(text, pattern(r"[^\s]+", "an ESC value path", "a path such as 'database.password', no spaces"))
refresh_interval = pattern(
    r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+", "a refresh interval", "a Go duration such as 1h or 15m"
)


def _keys(key: str, value: Any) -> list[Problem]:
    if not isinstance(value, Mapping) or not value:
        return [Problem(key, value, "is not accepted", "a map of Secret key → ESC value path, at least one")]
    problems = []
    for name, path in value.items():
        problems += secret_key(f"{key}.{name}", name) + value_path(f"{key}.{name}", path)
    return problems


EXTERNAL_SECRET = Spec(
    "externalSecret",
    {
        "name": required(dns1123_label, doc="The ExternalSecret, and the Kubernetes Secret it writes."),
        "keys": required(_keys, "map", doc="Secret key → the environment's value path (e.g. database.password)."),
        "refresh_interval": Field(refresh_interval, DEFAULT_REFRESH_INTERVAL, doc="How often to re-read ESC."),
    },
)


def _one_secret_per_name(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    names = [item.get("name") for item in values.get("external_secrets") or [] if isinstance(item, Mapping)]
    repeated = sorted({name for name in names if isinstance(name, str) and names.count(name) > 1})
    return [
        Problem(keys.of("external_secrets"), name, "names two ExternalSecrets", "each name once") for name in repeated
    ]


def _readers(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    """Who may read a cluster-scoped store: named namespaces, the store's own among them when its
    ExternalSecrets live there, none reserved (unless the store allows reserved namespaces)."""
    readers = values.get("allowed_namespaces")
    if readers is None or readers is UNKNOWN:
        return []
    if values.get("cluster_scoped") is not True:
        return [
            Problem(
                keys.of("allowed_namespaces"),
                MISSING,
                f"applies to {keys.name('cluster_scoped')} stores only",
                "a SecretStore is read from its own namespace only",
            )
        ]
    problems = []
    if values.get("external_secrets") and values.get("namespace") not in readers:
        problems.append(
            Problem(
                keys.of("allowed_namespaces"),
                list(readers),
                f"leaves out {values.get('namespace')!r}, where its ExternalSecrets are",
                "the store's own namespace among them",
            )
        )
    if values.get("allow_reserved_namespace") is not True:
        reserved = tenancy.reserved(_controller(values))
        for index, namespace in enumerate(readers):
            problems += tenancy.not_reserved(f"{keys.of('allowed_namespaces')}[{index}]", namespace, reserved)
    return problems


def _controller(values: Mapping[str, Any]) -> dict[str, str]:
    namespace = values.get("controller_namespace")
    return {namespace: "External Secrets' controller"} if isinstance(namespace, str) else {}


ACCOUNT_SUFFIX = "-esc"


ESC_STORE = Spec(
    "KeylessEscStore",
    {
        "namespace": required(dns1123_label),
        "name": required(dns1123_label),
        "organization": required(organization_name),
        "project": required(esc_name),
        "environment": required(esc_name),
        "role_id": required(identifier),
        "service_account": Field(first(dns1123_label, tenancy.not_default)),
        "cluster_scoped": Field(boolean, False, "bool"),
        "allowed_namespaces": Field(list_of(dns1123_label, allow_empty=False), kind="list"),
        "expiration_seconds": Field(int_range(MIN_EXPIRATION_SECONDS, 86_400), MIN_EXPIRATION_SECONDS, "int"),
        "api_url": Field(https_url, DEFAULT_API_URL),
        "controller_namespace": Field(dns1123_label, DEFAULT_CONTROLLER_NAMESPACE),
        "controller_service_account": Field(dns1123_label, DEFAULT_CONTROLLER_SERVICE_ACCOUNT),
        "external_secrets": Field(kind="objects", spec=EXTERNAL_SECRET, default=()),
        "allow_reserved_namespace": Field(boolean, False, "bool"),
    },
    (
        _one_secret_per_name,
        account_named_after(ACCOUNT_SUFFIX, "service_account", "its account"),
        _readers,
        tenancy.namespace_rule(_controller),
    ),
)
"""A store for one ESC environment, its service account, the RBAC its controller needs, and the
ExternalSecrets that read it."""


def store_service_account(store_name: str, given: str | None = None) -> str:
    """The store's own service account: given, or ``<store>-esc``."""
    return given or f"{store_name}{ACCOUNT_SUFFIX}"


def store_kind(cluster_scoped: bool) -> str:
    return "ClusterSecretStore" if cluster_scoped else "SecretStore"


def environment_ref(organization: str, project: str, environment: str) -> str:
    """What ``pulumi env open`` takes: ``<org>/<project>/<env>``."""
    return f"{organization}/{project}/{environment}"


def readers(values: Mapping[str, Any]) -> list[str]:
    """The namespaces whose ExternalSecrets may read the store: a SecretStore's own, or those a
    cluster-scoped store names (default: its own), never every namespace."""
    return list(values.get("allowed_namespaces") or [values["namespace"]])


def store_spec(values: Mapping[str, Any], service_account: str) -> dict[str, Any]:
    """The store's ``spec`` (wire form): the Pulumi provider, authenticated as ``service_account``;
    a cluster-scoped store is confined to its readers (without ``conditions`` every namespace
    could read it)."""
    reference: dict[str, Any] = {"name": service_account, "audiences": [pulumi_audience(values["organization"])]}
    confined: dict[str, Any] = {}
    if values.get("cluster_scoped"):
        reference["namespace"] = values["namespace"]
        confined["conditions"] = [{"namespaces": readers(values)}]
    return {
        **confined,
        "provider": {
            "pulumi": {
                "organization": values["organization"],
                "project": values["project"],
                "environment": values["environment"],
                "apiUrl": values["api_url"],
                "auth": {
                    "oidcConfig": {
                        "organization": values["organization"],
                        "serviceAccountRef": reference,
                        "expirationSeconds": values["expiration_seconds"],
                    }
                },
            }
        },
    }


def external_secret_spec(store_name: str, cluster_scoped: bool, secret: Mapping[str, Any]) -> dict[str, Any]:
    """An ExternalSecret's ``spec``: each key of the environment into a key of one Secret."""
    return {
        "refreshInterval": secret["refresh_interval"],
        "secretStoreRef": {"kind": store_kind(cluster_scoped), "name": store_name},
        "target": {"name": secret["name"], "creationPolicy": "Owner"},
        "data": [{"secretKey": key, "remoteRef": {"key": path}} for key, path in sorted(dict(secret["keys"]).items())],
    }


def token_request_rules(service_account: str) -> list[dict[str, Any]]:
    """What External Secrets' controller needs to mint the store's token, and nothing more."""
    return [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "resourceNames": [service_account],
            "verbs": ["create"],
        }
    ]


def workload_policy(namespace: str, service_account: str, role_id: str) -> dict[str, Any]:
    """The store's policy on the issuer: an organization token with a role, pinned to its account
    (External Secrets requests organization tokens only)."""
    return {
        "namespace": namespace,
        "service_account": service_account,
        "token_type": TokenType.ORGANIZATION.value,
        "role_id": role_id,
    }
