"""Who else could use a grant: the rules that keep the tenants of one cluster apart.

Whatever a stack grants (an issuer policy, a Role, a store, a cloud identity) is granted to a
Kubernetes service account, and anyone who may run a pod as that account may use it. So each
account belongs to one entry of the stack, and an entry whose pods may run as any account of
their namespace (a workflow runner's agents) has its namespace to itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core.problems import MISSING, Problem


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
