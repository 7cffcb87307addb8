"""Validation helpers shared by the components and the stack configuration.

Every check here raises :class:`InvalidArgumentError` with a message that names the
argument, the offending value and what would have been accepted, so that the same
mistake reads the same whether it came from stack config or from a caller's code.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

import pulumi

PACKAGE = "keyless"
"""The Pulumi package name: every component's type token is ``keyless:index:<Name>``."""

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_IMAGE_TAG = re.compile(r":([\w][\w.-]{0,127})$")

MIN_PROJECTED_TOKEN_SECONDS = 600
"""The kubelet refuses projected service-account tokens that live shorter than this."""


class InvalidArgumentError(pulumi.RunError, ValueError):
    """A component argument or stack config value is invalid.

    Subclassing :class:`pulumi.RunError` makes the Pulumi language host print only this
    message, without a Python traceback.
    """


def type_token(name: str) -> str:
    return f"{PACKAGE}:index:{name}"


def is_plain(value: object) -> bool:
    """True when a Pulumi input is already a concrete Python value (not an Output/awaitable)."""
    return not isinstance(value, (pulumi.Output, Awaitable))


def when_plain(value: Any, check: Callable[[Any], object]) -> None:
    """Run ``check`` now if ``value`` is concrete; Outputs are checked when they resolve."""
    if is_plain(value) and value is not None:
        check(value)


def check_dns1123_label(key: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 63 or not DNS1123_LABEL.match(value):
        raise InvalidArgumentError(
            f"{key}: {value!r} is not a valid Kubernetes name; expected a DNS-1123 label: "
            "1-63 characters of lower-case letters, digits and '-', starting and ending "
            "with a letter or digit"
        )
    return value


def check_pinned_image(key: str, value: object) -> str:
    """Accept ``repo:tag`` (tag other than ``latest``) or ``repo@sha256:<digest>``."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise InvalidArgumentError(
            f"{key}: {value!r} is not an image reference; expected 'repository:version' "
            "or 'repository@sha256:<64 hex digits>'"
        )
    if _IMAGE_DIGEST.search(value):
        return value
    tag_match = _IMAGE_TAG.search(value.rsplit("/", 1)[-1])
    if tag_match is None or tag_match.group(1) == "latest":
        raise InvalidArgumentError(
            f"{key}: {value!r} is not pinned; expected a version tag other than 'latest' "
            "(for example 'pulumi/pulumi-base:3.272.0') or a digest "
            "('pulumi/pulumi-base@sha256:<64 hex digits>')"
        )
    return value


def check_int_range(key: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    accepted = f"an integer >= {minimum}" if maximum is None else f"an integer from {minimum} to {maximum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{key}: {value!r} is not a whole number; expected {accepted}")
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidArgumentError(f"{key}: {value!r} is out of range; expected {accepted}")
    return value


def check_choice(key: str, value: object, accepted: Iterable[str]) -> str:
    choices = list(accepted)
    if value not in choices:
        raise InvalidArgumentError(f"{key}: {value!r} is not accepted; expected one of: {', '.join(choices)}")
    return str(value)


def check_non_empty(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f'{key}: {value!r} is not text; expected a string (in YAML, quote values such as "1.33")'
        )
    if not value.strip():
        raise InvalidArgumentError(f"{key}: {value!r} is empty; expected a non-empty string")
    return value


def resource_suffix(identifier: str) -> str:
    """A resource-name fragment from a role or policy identifier: its last path segment, slugged."""
    return re.sub(r"[^a-z0-9]+", "-", identifier.rsplit("/", 1)[-1].lower()).strip("-")


def child_opts(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to the component (providers flow from it)."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def metadata_field(metadata: pulumi.Output[Any], field: str) -> pulumi.Output[str]:
    """``metadata.name``/``metadata.namespace`` of a Kubernetes object, typed as the string it is once set."""
    return metadata.apply(lambda meta: cast(str, getattr(meta, field)))
