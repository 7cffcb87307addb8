"""ESC stores (``keyless:escStores``): an External Secrets store for one Pulumi ESC environment that
authenticates as its own service account, with the RBAC its controller needs and the
ExternalSecrets that read it (see :mod:`keyless.core.esc`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from keyless.core import esc
from keyless.core.login_job import lifetime_within_issuer_maximum
from keyless.core.spec import Spec
from keyless.core.values import repeated
from keyless.kinds import (
    ALLOW_RESERVED_NAMESPACE,
    Account,
    Context,
    Kind,
    Made,
    NamespaceUse,
    Reading,
    Request,
    Section,
    Subject,
)

if TYPE_CHECKING:
    from keyless.components.keyless_esc_store import KeylessEscStoreArgs
    from keyless.record import ProgramRun

SPEC = replace(
    esc.ESC_STORE.only(
        "namespace",
        "name",
        "project",
        "environment",
        "role_id",
        "service_account",
        "cluster_scoped",
        "allowed_namespaces",
        "expiration_seconds",
        "api_url",
        "controller_namespace",
        "controller_service_account",
        "external_secrets",
    ),
    name="escStores",
).extend("escStores", {"allow_reserved_namespace": ALLOW_RESERVED_NAMESPACE})
"""An ESC store; its organization is the stack's (keyless:organization)."""

STORE_TYPES = tuple(f"kubernetes:{esc.API_VERSION}:{kind}" for kind in ("SecretStore", "ClusterSecretStore"))


@dataclass(frozen=True)
class EscStore:
    key: str
    args: Mapping[str, Any]
    """``KeylessEscStore`` args (defaults filled in) but the organization, which is the stack's."""

    @property
    def namespace(self) -> str:
        return str(self.args["namespace"])

    @property
    def name(self) -> str:
        return str(self.args["name"])

    @property
    def service_account(self) -> str:
        return esc.store_service_account(self.name, self.args.get("service_account"))

    @property
    def reference(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def policy(self) -> dict[str, Any]:
        """The issuer policy its service account needs: an organization token with its role."""
        return esc.workload_policy(self.namespace, self.service_account, self.args["role_id"])


def read(items: Sequence[tuple[str, Mapping[str, Any]]], reading: Reading) -> tuple[EscStore, ...]:
    """Each store once; a cluster-scoped store's name once in the cluster; each ExternalSecret (the
    Secret it writes) once in its namespace, whichever store writes it."""
    found = []
    for key, item in items:
        store = SPEC.resolved(item)
        secrets = [esc.EXTERNAL_SECRET.resolved(secret) for secret in store.get("external_secrets") or ()]
        found.append(EscStore(key, {**store, "external_secrets": secrets}))
        reading.problems += lifetime_within_issuer_maximum(
            f"{key}.expirationSeconds",
            f"{store['expiration_seconds']}s",
            reading.max_expiration_key,
            reading.max_expiration_seconds,
        )
    reading.problems += repeated([(f"{s.key}.name", s.reference) for s in found], "the store", "each store once")
    cluster_wide = [(f"{s.key}.name", s.name) for s in found if s.args["cluster_scoped"]]
    reading.problems += repeated(cluster_wide, "the ClusterSecretStore", "each cluster-scoped store name once")
    written = [
        (f"{s.key}.externalSecrets[{index}].name", f"{s.namespace}/{secret['name']}")
        for s in found
        for index, secret in enumerate(s.args["external_secrets"])
    ]
    reading.problems += repeated(
        written, "the ExternalSecret", "each ExternalSecret (and its Secret) once per namespace"
    )
    return tuple(found)


def create(stores: Sequence[EscStore], context: Context) -> Made:
    """Each store reads its environment as its own service account."""
    from keyless.components.keyless_esc_store import KeylessEscStore

    made = Made()
    for store in stores:
        args = cast("KeylessEscStoreArgs", {**store.args, "organization": context.organization})
        KeylessEscStore(f"{store.namespace}.{store.name}", args, context.in_namespace(store.namespace))
        made.policies.append(store.policy)
    return made


def request(store: EscStore) -> Request:
    """External Secrets' own request: an organization token, for the store's lifetime."""
    return Request(
        f"{store.namespace}/{store.service_account}",
        "organization",
        int(store.args["expiration_seconds"]),
        f"External Secrets for the store {store.reference}",
    )


def section(run: ProgramRun, tokens: Mapping[tuple[str, str], str]) -> Section | None:
    """Each External Secrets store for Pulumi ESC: store → service account → token → environment."""
    rows = []
    for r in run.registrations:
        if not r.custom or r.type not in STORE_TYPES:
            continue
        inputs = r.plain_inputs
        provider = (inputs.get("spec") or {}).get("provider", {}).get("pulumi") or {}
        reference = ((provider.get("auth") or {}).get("oidcConfig") or {}).get("serviceAccountRef") or {}
        meta = inputs.get("metadata") or {}
        namespace = str(reference.get("namespace") or meta.get("namespace") or "")
        account = (namespace, str(reference.get("name") or "(an access token)"))
        rows.append(
            (
                f"{inputs.get('kind')} {meta.get('namespace', '-')}/{meta.get('name')}",
                f"`{account[0]}/{account[1]}`",
                tokens.get(account, "no policy on the issuer"),
                f"`{provider.get('organization')}/{provider.get('project')}/{provider.get('environment')}`",
                _readers(inputs),
            )
        )
    if not rows:
        return None
    header = ("store", "service account", "Pulumi token", "ESC environment", "read from")
    return Section("ESC stores", header, sorted(rows))


def _readers(store: Mapping[str, Any]) -> str:
    """Whose ExternalSecrets may read a store: a SecretStore's namespace, a ClusterSecretStore's
    conditions (every namespace without them)."""
    if store.get("kind") != "ClusterSecretStore":
        return f"`{(store.get('metadata') or {}).get('namespace')}`"
    unconfined = "⚠ every namespace (no conditions)"
    parts = []
    for condition in (store.get("spec") or {}).get("conditions") or []:
        parts += [f"`{namespace}`" for namespace in condition.get("namespaces") or []]
        if condition.get("namespaceSelector"):
            parts.append(f"namespaces labelled {condition['namespaceSelector']}")
        parts += [f"namespaces matching `{regex}`" for regex in condition.get("namespaceRegexes") or []]
    return ", ".join(parts) or unconfined


def spec() -> Spec:
    return SPEC


KIND = Kind(
    key="escStores",
    summary="External Secrets stores reading Pulumi ESC as their own service account, no token.",
    spec=spec,
    read=read,
    create=create,
    accounts=lambda s: (Account(s.key, s.namespace, s.service_account),),
    namespaces=lambda s: (NamespaceUse(s.key, s.namespace, allowed=bool(s.args["allow_reserved_namespace"])),),
    controllers=lambda stores: {
        esc.DEFAULT_CONTROLLER_NAMESPACE: "External Secrets' controller (its chart's default)",
        **{str(s.args["controller_namespace"]): "External Secrets' controller" for s in stores},
    },
    policies=lambda s: (s.policy,),
    subject=Subject(
        "esc-store",
        "ESC store",
        "an ESC store of the stack: its service account is the subject, and the request is External Secrets' own "
        "(an organization token for the store's expirationSeconds)",
        request,
    ),
    section=section,
    guardrails=(
        "esc-store-holds-no-access-token",
        "esc-store-audience-is-pulumis",
        "esc-cluster-store-names-its-namespaces",
    ),
    component="KeylessEscStore",
)

__all__ = ["KIND", "EscStore"]
