"""Resource names: a contract with live stacks (a rename replaces resources unless aliased)."""

from __future__ import annotations

import hashlib
import re

PACKAGE = "keyless"
"""The Pulumi package name: every component's type token is ``keyless:index:<Name>``."""


def type_token(name: str) -> str:
    return f"{PACKAGE}:index:{name}"


def workload_resource_name(namespace: str, service_account: str) -> str:
    """The name of a workload's resources. "." never occurs in a DNS-1123 label, so distinct
    workloads never share a name (with "-", a-b/c and a/b-c would)."""
    return f"{namespace}.{service_account}"


def resource_suffix(identifier: str) -> str:
    """A resource-name fragment from a role or policy identifier: its last path segment, slugged."""
    return re.sub(r"[^a-z0-9]+", "-", identifier.rsplit("/", 1)[-1].lower()).strip("-")


_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/([A-Za-z0-9]+)$")
_PREDEFINED_ROLE = re.compile(r"^roles/([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)$")


def identifier_suffix(identifier: str) -> str:
    """A resource-name fragment for a policy ARN or an IAM role, distinct for distinct identifiers.

    An AWS-managed policy (``arn:aws:iam::aws:policy/ReadOnlyAccess``) and a predefined Google
    role (``roles/storage.objectViewer``) keep their readable name, lower-cased: such names are
    unique regardless of case. Any other identifier (a customer-managed policy, a custom role)
    adds a digest of the whole identifier, so ``arn:aws:iam::aws:policy/ReadOnlyAccess`` and
    ``arn:aws:iam::123456789012:policy/ReadOnlyAccess`` never share a name.
    """
    readable = _AWS_MANAGED_POLICY.match(identifier) or _PREDEFINED_ROLE.match(identifier)
    if readable is not None:
        return resource_suffix(readable.group(1))
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:8]
    return f"{resource_suffix(identifier)}-{digest}"


def child_names(parent: str, identifiers: list[str]) -> list[tuple[str, str | None]]:
    """``(name, earlier name or None)`` of the child resource for each identifier.

    The earlier name is what 0.1.0 called the child (its identifier's last segment), given as an
    alias so a live stack moves the resource instead of replacing it; none where two identifiers
    had the same earlier name (a stack could not have held both) or the name did not change.
    """
    earlier = [f"{parent}-{resource_suffix(identifier)}" for identifier in identifiers]
    names = []
    for identifier, old in zip(identifiers, earlier, strict=True):
        name = f"{parent}-{identifier_suffix(identifier)}"
        names.append((name, old if old != name and earlier.count(old) == 1 else None))
    return names


def earlier_workload_names(workloads: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """What stacks deployed before the "." join called each workload's resources (``ns-sa``), for
    an alias; none where two workloads had the same earlier name (``a-b/c`` and ``a/b-c``)."""
    earlier = {pair: f"{pair[0]}-{pair[1]}" for pair in workloads}
    names = list(earlier.values())
    return {pair: name if names.count(name) == 1 else None for pair, name in earlier.items()}
