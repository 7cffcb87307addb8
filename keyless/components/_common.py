"""What every component shares: validation through the core's rules, and child options.

:func:`validated` is the one place a component checks its arguments: plain values at
construction (every problem at once, before anything is registered), and each Output when it
resolves, failing the update with the same message the stack config would print.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar, cast

import pulumi

from keyless.core.naming import type_token
from keyless.core.problems import InvalidArgumentError, raise_problems
from keyless.core.spec import Field, Spec, check_field, is_unknown, join

__all__ = [
    "InvalidArgumentError",
    "aliases",
    "child_opts",
    "lifted",
    "metadata_field",
    "stack_aliases",
    "validated",
    "wire",
]

T = TypeVar("T")


def validated(spec: Spec, args: Mapping[str, Any], here: str = "") -> dict[str, Any]:
    """``args`` checked against ``spec``, defaults filled in, each Output checked as it resolves.

    Raises :class:`InvalidArgumentError` listing every problem with the plain values. Use the
    returned values (not ``args``) for the children: their Outputs carry the deferred check.
    """
    raise_problems(spec.check(args, here), f"Invalid arguments for {spec.name}")
    return _deferred(spec, spec.resolved(args), here)


def _deferred(spec: Spec, values: Mapping[str, Any], here: str) -> dict[str, Any]:
    result = {}
    for name, value in values.items():
        each = spec.fields.get(name)
        result[name] = value if each is None else _checked_later(each, join(here, name), value)
    return result


def _checked_later(each: Field, key: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if is_unknown(value):
        output = pulumi.Output.from_input(value)
        return output.apply(lambda resolved: _checked_now(each, key, resolved))
    if each.spec is not None and each.kind == "objects" and isinstance(value, (list, tuple)):
        item = Field(kind="object", spec=each.spec)
        return [_checked_later(item, f"{key}[{index}]", entry) for index, entry in enumerate(value)]
    if each.spec is not None and each.kind == "object" and isinstance(value, Mapping):
        return _deferred(each.spec, each.spec.resolved(value), key)
    return value


def _checked_now(each: Field, key: str, value: Any) -> Any:
    if value is None:
        return None
    raise_problems(check_field(each, key, value))
    return value


def lifted(build: Callable[..., T], *values: Any) -> T | pulumi.Output[T]:
    """``build(*values)`` now when every value is plain, else an Output once they all resolve.

    Most of a component's inputs are plain (names from the stack config): computing with them
    directly keeps the engine's work to the resources themselves, which matters at hundreds of
    workloads (see benchmarks/scale.py)."""
    if any(is_unknown(value) for value in values):
        return pulumi.Output.all(*values).apply(lambda resolved: build(*resolved))
    return build(*values)


def aliases(earlier_name: str | None) -> list[pulumi.Input[str] | pulumi.Alias] | None:
    """The alias that moves a renamed child in a live stack instead of replacing it."""
    return None if earlier_name is None else [pulumi.Alias(name=earlier_name)]


def stack_aliases(type_name: str, earlier_name: str | None) -> list[pulumi.Input[str] | pulumi.Alias] | None:
    """The alias of a renamed component whose parent is the stack, as the URN it had: the engine
    takes it as it is, where an ``Alias(name=…)`` makes the SDK compute the URN through Outputs
    for every such resource (a measurable share of a preview at hundreds of workloads)."""
    if earlier_name is None:
        return None
    # The engine leaves the stack's own type out of its children's URNs (resource.NewURN).
    return [f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_token(type_name)}::{earlier_name}"]


def wire(value: Mapping[str, Any]) -> Any:
    """A wire-form value (camelCase keys) from a :mod:`keyless.core` builder, for an SDK argument:
    the SDK sends camelCase keys as they are, though its typed dicts spell them in snake_case."""
    return value


def child_opts(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to the component (providers flow from it)."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def metadata_field(metadata: pulumi.Output[Any], field: str) -> pulumi.Output[str]:
    """``metadata.name``/``metadata.namespace`` of a Kubernetes object, typed as the string it is once set."""
    return metadata.apply(lambda meta: cast(str, getattr(meta, field)))
