"""What a program registered, as the engine received it: the record the offline preview writes
out, ``keyless check`` and the doctor read, and the tests assert on.

Each resource keeps its inputs twice: :attr:`Registration.wire` as the engine hands them to a policy
pack (after the provider's check, with auto-names; a protobuf ``Struct``, so every number is a
double and secrets are wrapped), and
:attr:`Registration.inputs` decoded for reading (whole numbers as ``int``, secrets as
:class:`Secret`). Policies judge :attr:`Registration.served_inputs`: the wire form decoded the way
the policy server decodes it, so an offline verdict and a served one cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's marker for a string not known yet (during a preview)."""


def urn_type(urn: str) -> str:
    """A URN's own type, without its parents' (the engine's ``URN.Type``); "" for no URN.
    ``urn:pulumi:<stack>::<project>::<parent types$…$type>::<name>``."""
    parts = urn.split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def urn_name(urn: str) -> str:
    """A URN's name (the engine's ``URN.Name``), which may itself hold "::"."""
    return urn.split("::", 3)[3]


class Secret:
    """A value the program marked secret: kept for assertions, masked when shown."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


def reveal(value: Any) -> Any:
    """The value with every secret unwrapped (for assertions)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return Secret(decoded(value.get("value")))
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def served(value: Any) -> Any:
    """Wire-form properties as the policy server hands them to a policy (pulumi_policy's
    ``deserialize_properties``): secrets unwrapped, numbers left as the doubles they arrived as."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return served(value.get("value"))
        return {key: served(item) for key, item in value.items()}
    if isinstance(value, list):
        return [served(item) for item in value]
    return value


@dataclass
class Registration:
    """One resource as the engine received it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    wire: dict[str, Any] = field(default_factory=dict)
    """The inputs as the engine hands them on after the provider's check (auto-names filled in),
    in wire form: a ``Struct``, so numbers are doubles and secrets are wrapped."""
    aliases: list[str] = field(default_factory=list)
    """Earlier names (``name`` of each alias spec, or alias URNs) this resource answers to."""
    answers_to: list[str] = field(default_factory=list)
    """Every URN of a live stack this resource takes over, computed as the engine computes it: its
    aliases, and each alias of its parent with this resource beneath it."""
    secret_outputs: list[str] = field(default_factory=list)
    """Outputs the program asks the engine to keep secret (``additional_secret_outputs``)."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return reveal(self.inputs)

    @property
    def served_inputs(self) -> dict[str, Any]:
        """The inputs as a served policy pack sees them (see :func:`served`)."""
        return dict(served(self.wire))


@dataclass
class Invocation:
    token: str
    args: dict[str, Any]


@dataclass
class ProgramRun:
    registrations: list[Registration]
    invocations: list[Invocation]
    outputs: dict[str, Any]
    error: BaseException | None = None

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token} named {name!r}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def depends_on(self, resource: Registration, other: Registration) -> bool:
        """True when ``resource`` waits for ``other`` (directly, or for a component holding it)."""
        ancestors = set()
        urn = other.urn
        while urn:
            ancestors.add(urn)
            urn = next((r.parent for r in self.registrations if r.urn == urn), "")
        return bool(ancestors & set(resource.dependencies))
