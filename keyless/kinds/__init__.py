"""What a stack runs in its cluster: kinds of entries, one module each, in one registry.

A :class:`Kind` declares everything about itself: its ``keyless:<key>`` section and how it reads
its entries from it (with the checks that span them), the service accounts and namespaces each
entry owns, the issuer policies it needs, what it creates (``create``, given a narrow
:class:`Context`), how ``keyless doctor`` names one (its :class:`Subject`), its section of the
access map and the guardrails that check what it creates. The stack config, the program, the
doctor and the access map ask the registry; nothing else names a kind.

    workloads        a service account with its Pulumi Cloud policy and its cloud identity
    operatorStacks   an Operator Stack whose workspace logs in as a workload
    escStores        an External Secrets store that reads ESC as its own service account
    workflowRunners  workflow runner agents that exchange their own token for a runner token

Adding a kind is a module that calls :func:`register` (imported below for the built-in ones), its
tests and its docs. A kind's module imports no provider SDK at import time: the stack config, the
doctor and the access map read the registry without one; ``create`` imports its component when it
runs. The registration order is the order of what a stack derives from its kinds (its issuer's
policies among them): changing it changes live stacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from keyless import identity
from keyless.core.naming import workload_resource_name
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field, Spec, camel, join
from keyless.core.values import boolean

if TYPE_CHECKING:
    import pulumi

    from keyless.record import ProgramRun


@dataclass(frozen=True)
class Account:
    """A Kubernetes service account an entry owns: it creates it, and no other entry may use it."""

    key: str
    """The owning entry's config key (``keyless:workflowRunners[0]``)."""
    namespace: str
    name: str
    identity_mode: str | None = None
    """The name of the identity mode of its cloud identity (:mod:`keyless.identity`); None without one."""
    identity_settings: Mapping[str, Any] = field(default_factory=dict)
    """Its identity mode's own fields (snake_case, defaults filled in)."""
    earlier_name: str | None = None
    """The name stacks deployed before the "." join gave its identity's resources (an alias)."""

    @property
    def reference(self) -> str:
        """``<namespace>/<name>``: how the config, the doctor and the access map name it."""
        return f"{self.namespace}/{self.name}"

    @property
    def resource_name(self) -> str:
        return workload_resource_name(self.namespace, self.name)


@dataclass(frozen=True)
class NamespaceUse:
    """A namespace an entry lives in."""

    key: str
    """The entry's config key."""
    name: str
    alone: str | None = None
    """Why the entry must have the namespace to itself; None when it may share it."""
    pod_security_level: str | None = None
    """The Pod Security level a namespace the stack creates for it is lowered to from ``restricted``;
    None to keep the stack's."""
    allowed: bool = False
    """The entry may live there although the namespace is reserved (``allowReservedNamespace``)."""


class Entry(Protocol):
    """What every kind's entry says of itself."""

    @property
    def key(self) -> str:
        """Where it is in the stack config (``keyless:escStores[0]``)."""

    @property
    def reference(self) -> str:
        """``<namespace>/<name>``: how the doctor and the program name it."""


E = TypeVar("E", bound=Entry)


@dataclass
class Reading:
    """What a kind is told while it reads its entries, and where it reports their problems."""

    identity_cloud: str | None
    """Whose cloud identities the stack's service accounts get (gke, eks, aks, none)."""
    max_expiration_seconds: Any
    """The issuer's longest exchanged token (an int, unless its own key is wrong)."""
    max_expiration_key: str
    """The config key that sets it, for problems that name it."""
    given: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    """Every entry of every kind as the config gives it (snake_case keys, valid or not), by kind key."""
    entries: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """The entries of the kinds read before this one, by kind key."""
    problems: list[Problem] = field(default_factory=list)

    def identity(self, key: str, values: Mapping[str, Any], whose: str) -> tuple[str | None, dict[str, Any]]:
        """An account's identity mode (the one named, else its cloud's default) and that mode's
        fields, as ``values`` give them; the mode must be one the identity cloud offers, and no
        field of another mode may be set (reported here)."""
        mode = mode_of(values, self.identity_cloud)
        name = values.get("identity_mode")
        offered = [each.name for each in identity.offered(self.identity_cloud)]
        if self.identity_cloud is not None and name is not None and name not in offered:
            accepted = (
                f"one of: {', '.join(offered)}"
                if offered
                else "no identityMode: this stack gives workloads no cloud identity"
            )
            self.problems.append(
                Problem(
                    f"{key}.identityMode", name, f"is not a mode of identity cloud {self.identity_cloud!r}", accepted
                )
            )
        own = mode.fields if mode is not None else {}
        for name in identity.fields():
            if self.identity_cloud is not None and values.get(name) is not None and name not in own:
                modes = ", ".join(identity.declaring(name))
                this = f"{whose} is {mode.name!r}" if mode is not None else f"{whose} is none"
                self.problems.append(
                    Problem(f"{key}.{camel(name)}", MISSING, f"applies to identityMode {modes} only; {this}")
                )
        if mode is None:
            return None, {}
        return mode.name, {
            name: each.default if values.get(name) is None else values[name] for name, each in mode.fields.items()
        }


def mode_of(values: Mapping[str, Any], identity_cloud: str | None) -> identity.Mode | None:
    """The mode ``values`` name if the registry has it, else the identity cloud's default."""
    name = values.get("identity_mode")
    if name is None:
        return identity.default(identity_cloud)
    return next((mode for mode in identity.modes() if mode.name == name), None)


@dataclass
class Made:
    """What a kind created that the rest of the stack uses."""

    policies: list[Mapping[str, Any]] = field(default_factory=list)
    """Its issuer policies (``PulumiCloudTrust`` workloads), with what only creation knows."""
    accounts: dict[str, pulumi.Resource] = field(default_factory=dict)
    """What others wait for before using one of its accounts, by ``<namespace>/<name>``."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack outputs."""


@dataclass
class Context:
    """What a kind's ``create`` is given: the organization, the cluster's provider, the namespaces
    the stack created, its accounts' cloud identities, and what the kinds before it made."""

    organization: str
    kubernetes: pulumi.ProviderResource
    created_namespaces: Mapping[str, Any]
    """The namespaces this stack created (``RestrictedNamespace``), by name."""
    cloud_identity: Callable[[Account], identity.Created | None]
    made: dict[str, Made] = field(default_factory=dict)

    def account(self, reference: str) -> pulumi.Resource:
        """What to wait for before using the account ``<namespace>/<name>`` an earlier kind made."""
        return next(made.accounts[reference] for made in self.made.values() if reference in made.accounts)

    def namespace(self, name: str) -> pulumi.Input[str]:
        """The namespace's name, as an Output that waits for it when the stack creates it."""
        created = self.created_namespaces.get(name)
        return name if created is None else created.name

    def in_cluster(self, **options: Any) -> pulumi.ResourceOptions:
        import pulumi

        return pulumi.ResourceOptions(providers=[self.kubernetes], **options)

    def in_namespace(self, name: str) -> pulumi.ResourceOptions:
        """Options for what lives in the namespace: in the cluster, waiting for the namespace."""
        import pulumi

        created = self.created_namespaces.get(name)
        waits = [] if created is None else [created]
        return pulumi.ResourceOptions.merge(self.in_cluster(), pulumi.ResourceOptions(depends_on=waits))


@dataclass(frozen=True)
class Request:
    """The exchange an entry's agent makes, as the doctor judges it."""

    account: str
    """``<namespace>/<service account>`` whose token is exchanged."""
    token_type: str
    lifetime_seconds: int | None
    source: str
    """Who makes the request, for the doctor's report."""
    team: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class Subject(Generic[E]):
    """How ``keyless doctor`` is pointed at one entry: ``--<flag> NS/NAME``."""

    flag: str
    noun: str
    """What one entry is called in a sentence (``ESC store``)."""
    help: str
    request: Callable[[E], Request]


@dataclass(frozen=True)
class Section:
    """A kind's part of the access map: a heading and a table."""

    title: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]

    def markdown(self) -> list[str]:
        lines = ["", f"## {self.title}", "", f"| {' | '.join(self.header)} |"]
        lines.append(f"| {' | '.join('---' for _ in self.header)} |")
        return lines + [f"| {' | '.join(row)} |" for row in self.rows]


def owns_nothing(_: Any) -> tuple[Any, ...]:
    """A kind's ``accounts``, ``namespaces`` or ``policies`` when it has none of its own."""
    return ()


def no_controllers(_: Any) -> Mapping[str, str]:
    return {}


ALLOW_RESERVED_NAMESPACE = Field(
    boolean,
    False,
    "bool",
    doc="Let this entry live in a reserved namespace (kube-system, kube-public, kube-node-lease, default, or "
    "a controller's), accepting that whoever may run pods there could act as its accounts; see docs/security.md.",
)
"""Every kind's opt-in key for a reserved namespace (its components' ``allow_reserved_namespace``)."""


@dataclass(frozen=True)
class Kind(Generic[E]):
    key: str
    """The ``keyless:<key>`` section (camelCase, a list of entries)."""
    summary: str
    """What an entry is, for the configuration reference."""
    spec: Callable[[], Spec]
    """The keys of one entry."""
    read: Callable[[Sequence[tuple[str, Mapping[str, Any]]], Reading], tuple[E, ...]]
    """Its entries from the items whose own keys are valid (each with its config key, snake_case
    keys as given); problems that span entries or sections go to ``Reading.problems``."""
    create: Callable[[Sequence[E], Context], Made]
    accounts: Callable[[E], Sequence[Account]] = owns_nothing
    namespaces: Callable[[E], Sequence[NamespaceUse]] = owns_nothing
    policies: Callable[[E], Sequence[Mapping[str, Any]]] = owns_nothing
    """Its issuer policies as the config alone gives them (what only creation knows, stood in for):
    the doctor's view. ``create`` returns the ones it registers."""
    controllers: Callable[[Sequence[E]], Mapping[str, str]] = no_controllers
    """The namespaces the controllers its entries rely on run in (namespace → whose, defaults
    included): no entry of any kind may live there."""
    subject: Subject[E] | None = None
    section: Callable[[ProgramRun, Mapping[tuple[str, str], str]], Section | None] | None = None
    """Its part of the access map, read from what a stack registered, given the Pulumi token each
    service account pinned by an issuer policy can obtain."""
    guardrails: tuple[str, ...] = ()
    """Names of the policies that check what it creates."""
    component: str | None = None
    """The component an entry's keys are documented on (``KeylessEscStore``)."""

    @property
    def field_name(self) -> str:
        """Its key as a field of the stack's spec (snake_case)."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.key)


_REGISTRY: dict[str, Kind[Any]] = {}


def register(kind: Kind[E]) -> Kind[E]:
    """Add ``kind`` to the registry (a key registered twice is a programming error)."""
    if kind.key in _REGISTRY:
        raise ValueError(f"kind {kind.key!r} is registered twice")
    _REGISTRY[kind.key] = kind
    return kind


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def kinds() -> list[Kind[Any]]:
    """Every kind, in registration order."""
    return list(_REGISTRY.values())


def get(key: str) -> Kind[Any]:
    return _REGISTRY[key]


def version() -> tuple[str, ...]:
    """Changes whenever the registry does (what depends on it is rebuilt)."""
    return (*_REGISTRY, *identity.version())


def key_of(kind: Kind[Any], index: int, prefix: str) -> str:
    return f"{join(prefix, kind.key)}[{index}]"


from keyless.kinds import esc_stores, operator_stacks, workflow_runners, workloads  # noqa: E402

for _module in (workloads, operator_stacks, esc_stores, workflow_runners):  # the issuer's policy order
    register(_module.KIND)

__all__ = [
    "ALLOW_RESERVED_NAMESPACE",
    "Account",
    "Context",
    "Entry",
    "Kind",
    "Made",
    "NamespaceUse",
    "Reading",
    "Request",
    "Section",
    "Subject",
    "esc_stores",
    "get",
    "key_of",
    "kinds",
    "mode_of",
    "no_controllers",
    "operator_stacks",
    "owns_nothing",
    "register",
    "unregister",
    "version",
    "workflow_runners",
    "workloads",
]
