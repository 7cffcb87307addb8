"""Resource names: a contract with live stacks (a rename replaces resources unless aliased)."""

from __future__ import annotations

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
