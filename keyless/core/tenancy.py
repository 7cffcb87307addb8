"""Who else could use a grant: the rules that keep the tenants of one cluster apart.

Whatever a stack grants (an issuer policy, a Role, a store, a cloud identity) is granted to a
Kubernetes service account, and anyone who may run a pod as that account may use it. So each
account belongs to one entry of the stack; an entry whose pods may run as any account of their
namespace (a workflow runner's agents) has its namespace to itself; no account is a namespace's
``default`` (every pod that names no account runs as it); and no entry lives in a namespace that
belongs to the cluster or to a controller, unless the stack says so (``allowed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.spec import Keys

SYSTEM_NAMESPACES = {
    "kube-system": "the cluster's own namespace (its control-plane add-ons run there, with broad rights)",
    "kube-public": "readable by every user of the cluster, even unauthenticated ones",
    "kube-node-lease": "the nodes' heartbeat namespace",
    "default": "where everything created without a namespace lands",
}
"""Namespaces every cluster has, and why none is an entry's own."""

DEFAULT_ACCOUNT = "default"
"""The account the namespace controller creates in every namespace, and every pod's that names none."""


def one_owner(claims: Sequence[tuple[str, str, str]]) -> list[Problem]:
    """Each ``(key, namespace, account)`` claim names an account no earlier claim named."""
    taken: dict[tuple[str, str], str] = {}
    seen: set[tuple[str, str, str]] = set()
    problems = []
    for claim in claims:
        key, namespace, name = claim
        owner = taken.setdefault((namespace, name), key)
        if owner != key:
            problems.append(
                Problem(key, MISSING, f"uses the service account {namespace}/{name} of {owner}", "its own account")
            )
        elif claim in seen:
            problems.append(
                Problem(
                    key,
                    MISSING,
                    f"names the service account {namespace}/{name} for two of its accounts",
                    "a separate account for each",
                )
            )
        seen.add(claim)
    return problems


def namespaces_alone(uses: Sequence[tuple[str, str, str | None]]) -> list[Problem]:
    """An entry that must have its namespace to itself (``(key, namespace, why)`` with a reason)
    shares it with no other entry."""
    problems = []
    for key, namespace, alone in uses:
        other = next((k for k, n, _ in uses if n == namespace and k != key), None)
        if alone is not None and other is not None:
            problems.append(
                Problem(
                    f"{key}.namespace",
                    namespace,
                    f"is also the namespace of {other}: {alone}",
                    "a namespace of its own",
                )
            )
    return problems


def reserved(controllers: Mapping[str, str]) -> dict[str, str]:
    """The namespaces no entry may use unless allowed: the system ones, and those ``controllers``
    run in (namespace → whose)."""
    return {**SYSTEM_NAMESPACES, **{ns: f"the namespace of {whose}" for ns, whose in controllers.items()}}


def not_reserved(key: str, namespace: Any, reserved: Mapping[str, str], allowed: Any = ()) -> list[Problem]:
    """``namespace`` is none of ``reserved``, unless ``allowed`` names it."""
    if namespace not in reserved or namespace in allowed:
        return []
    return [
        Problem(
            key,
            namespace,
            f"is {reserved[namespace]}: whoever may run pods there could act as this entry's accounts",
            "a namespace of its own, or allowReservedNamespace: true on the entry to take that risk on purpose",
        )
    ]


def not_default(key: str, account: Any) -> list[Problem]:
    """An account of the entry's own, not its namespace's ``default`` (no opt-in: the namespace
    controller creates that account, so no stack owns it, and a grant to it reaches every pod of the
    namespace that names no account)."""
    if account != DEFAULT_ACCOUNT:
        return []
    return [
        Problem(
            key,
            account,
            "is every pod's account in its namespace (a pod that names none runs as it), so a grant to it "
            "reaches them all; and the namespace controller creates it, so no stack owns it",
            "an account of the entry's own",
        )
    ]


def namespace_rule(reserved_by: Any, allow: str = "allow_reserved_namespace") -> Any:
    """A component's cross rule: its ``namespace`` is not reserved (the system namespaces, and those
    ``reserved_by(values)`` adds), unless its ``allow`` field is true."""

    def rule(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
        namespace = values.get("namespace")
        if namespace in (None, UNKNOWN) or values.get(allow) is True:
            return []
        found = not_reserved(keys.of("namespace"), namespace, reserved(reserved_by(values)))
        return [
            Problem(p.key, p.value, p.reason, f"a namespace of its own, or {keys.name(allow)}: true to take the risk")
            for p in found
        ]

    rule.fields = ("namespace", allow)  # type: ignore[attr-defined]  # Spec.only drops it without them
    return rule
