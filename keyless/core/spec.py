"""The rules of one set of arguments, written once and checked wherever those arguments come from.

A :class:`Spec` lists an object's fields (each with its rule and default) and the rules that span
fields. The same spec checks a component's arguments (keys spelt ``snake_case``, as in Python)
and the stack config section that maps to them (keys spelt ``camelCase`` under ``keyless:…``),
so both report one mistake in the same words, naming the key as the user wrote it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal

import pulumi

from keyless.core.problems import MISSING, UNKNOWN, Problem, missing
from keyless.core.values import Rule

Kind = Literal["text", "int", "bool", "list", "map", "object", "objects"]


def camel(snake: str) -> str:
    """``token_expiration_seconds`` → ``tokenExpirationSeconds``: how config and schemas spell keys."""
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def join(prefix: str, name: str) -> str:
    if not prefix:
        return name
    return f"{prefix}{name}" if prefix.endswith(":") else f"{prefix}.{name}"


def is_unknown(value: object) -> bool:
    """True for a value not known yet: an unresolved Output, an awaitable, or :data:`UNKNOWN`."""
    return value is UNKNOWN or isinstance(value, (pulumi.Output, Awaitable))


@dataclass(frozen=True)
class Field:
    """One argument: its rule, its default (:data:`MISSING` = required) and its kind."""

    rule: Rule | None = None
    default: Any = None
    kind: Kind = "text"
    spec: Spec | None = None
    """The rules of each item (``objects``) or of the value (``object``)."""
    doc: str = ""
    """For fields that exist only in the stack config; component fields are documented on their args."""

    @property
    def required(self) -> bool:
        return self.default is MISSING


def required(rule: Rule | None = None, kind: Kind = "text", spec: Spec | None = None, doc: str = "") -> Field:
    return Field(rule, MISSING, kind, spec, doc)


@dataclass(frozen=True)
class Keys:
    """How a cross-field rule names keys: ``here`` is the object's own key, ``of`` a field's."""

    here: str
    spell: Callable[[str], str]

    def of(self, name: str) -> str:
        return join(self.here, self.spell(name))

    def name(self, name: str) -> str:
        return self.spell(name)

    def names(self, names: Sequence[str]) -> list[str]:
        return [self.spell(name) for name in names]


CrossRule = Callable[[Mapping[str, Any], Keys], list[Problem]]
"""A rule over several fields; it sees defaults filled in and unresolved values as :data:`UNKNOWN`."""


@dataclass(frozen=True)
class Spec:
    name: str
    fields: Mapping[str, Field]
    rules: Sequence[CrossRule] = field(default_factory=tuple)

    def only(self, *names: str) -> Spec:
        """The same spec restricted to ``names``. Cross-field rules need all their fields kept; a
        rule that declares them (its ``fields`` attribute) is left out when one of them is."""
        kept = [rule for rule in self.rules if set(getattr(rule, "fields", ())) <= set(names)]
        return replace(self, fields={name: self.fields[name] for name in names}, rules=tuple(kept))

    def extend(self, name: str, fields: Mapping[str, Field], rules: Sequence[CrossRule] = ()) -> Spec:
        return Spec(name, {**self.fields, **fields}, (*self.rules, *rules))

    def resolved(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with every absent field set to its default (required fields excepted)."""
        result = dict(values)
        for name, each in self.fields.items():
            if result.get(name) is None and not each.required:
                result[name] = each.default
        return result

    def check(self, values: object, here: str = "", spell: Callable[[str], str] = str) -> list[Problem]:
        """Every problem with ``values``; unknown values are skipped until they resolve."""
        if is_unknown(values):
            return []
        if not isinstance(values, Mapping):
            accepted = ", ".join(spell(name) for name in self.fields)
            return [Problem(here or self.name, values, "is not an object", f"keys: {accepted}")]
        problems: list[Problem] = []
        spelt = {spell(name): name for name in self.fields}
        for key in values:
            if key not in self.fields:
                problems.append(
                    Problem(join(here, spell(str(key))), MISSING, "unknown key", f"one of: {', '.join(spelt)}")
                )
        view: dict[str, Any] = {}
        for name, each in self.fields.items():
            value = values.get(name)
            key = join(here, spell(name))
            if value is None:
                if each.required:
                    problems.append(missing(key))
                view[name] = None if each.required else each.default
                continue
            if is_unknown(value):
                view[name] = UNKNOWN
                continue
            found = check_field(each, key, value, spell)
            problems += found
            view[name] = UNKNOWN if found else known(value)
        keys = Keys(here, spell)
        for rule in self.rules:
            problems += rule(view, keys)
        return problems


def check_field(each: Field, key: str, value: Any, spell: Callable[[str], str] = str) -> list[Problem]:
    if each.kind == "objects" and each.spec is not None:
        if not isinstance(value, (list, tuple)):
            return [Problem(key, value, "is not accepted", "a list of objects")]
        problems = [] if each.rule is None else each.rule(key, value)
        for index, item in enumerate(value):
            problems += each.spec.check(item, f"{key}[{index}]", spell)
        return problems
    if each.kind == "object" and each.spec is not None:
        return each.spec.check(value, key, spell)
    return [] if each.rule is None else each.rule(key, value)


def known(value: Any) -> Any:
    """``value`` with unresolved parts replaced by :data:`UNKNOWN` and enum members by their values."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: known(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [known(item) for item in value]
    return value
