"""A cluster someone else runs (``keyless:cloud: existing``): named by its issuer and a kubeconfig,
or looked up by name on the cloud ``keyless:existing.identityCloud`` names, whose identities its
accounts then get (or none). What is particular to a cloud, this module asks the cloud's module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyless import clouds, identity
from keyless.clouds import Cloud, Cluster, IssuerReference
from keyless.core import pulumi_cloud
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field, Spec, camel, required
from keyless.core.values import choice, text

if TYPE_CHECKING:
    from keyless.components.existing_cluster import ExistingClusterArgs
    from keyless.kinds import Account

KEY = "existing"
HERE = f"keyless:{KEY}"
KUBECONFIG = "keyless:kubeconfig"
NONE = "none"
"""The identity cloud of a cluster whose accounts get Pulumi Cloud access only."""
SECRET_HINT = (
    f"with the Pulumi CLI, `pulumi config set --secret {KUBECONFIG} < kubeconfig.yaml`; for an offline preview "
    f"without it, any secure value in the stack file (`{KUBECONFIG}: {{secure: placeholder}}`)"
)


def identity_clouds() -> list[str]:
    return [*(cloud.key for cloud in clouds.clouds()), NONE]


def lookup_spec() -> Spec:
    return Spec(
        "lookup",
        {
            "cluster_name": Field(text, doc="Name of the cluster to look up (derives the issuer and a kubeconfig)."),
            **{name: each for cloud in clouds.clouds() for name, each in cloud.lookup.fields.items()},
        },
    )


def spec() -> Spec:
    names = ", ".join(identity_clouds()[:-1])
    return Spec(
        KEY,
        {
            "identity_cloud": required(
                choice(identity_clouds()),
                doc=f"Cloud identities for the workloads: {names} or {NONE} (Pulumi Cloud only).",
            ),
            "issuer_url": Field(
                pulumi_cloud.cluster_issuer_url, doc="The cluster's OIDC issuer, exactly as its tokens' iss."
            ),
            "context": Field(text, doc="Kubeconfig context to use (default: its current context)."),
            "lookup": Field(kind="object", spec=lookup_spec(), doc=f"Look the cluster up on {names.upper()}."),
            **{name: each for cloud in clouds.clouds() for name, each in cloud.existing.fields.items()},
        },
    )


def identity_cloud_of(existing: Any) -> str | None:
    """The section's identity cloud, when it names one (its own key reports it otherwise)."""
    name = existing.get("identity_cloud") if isinstance(existing, Mapping) else None
    return name if isinstance(name, str) and name in identity_clouds() else None


def _lookup(existing: Mapping[str, Any]) -> Mapping[str, Any]:
    lookup = existing.get("lookup")
    return lookup if isinstance(lookup, Mapping) and lookup.get("cluster_name") is not None else {}


def check_kubeconfig(kubeconfig: Any, cloud: Any, secret_keys: Sequence[str]) -> list[Problem]:
    """``keyless:kubeconfig`` is an existing cluster's, and a secret."""
    problems = []
    if kubeconfig is not None and KUBECONFIG not in secret_keys:
        problems.append(Problem(KUBECONFIG, MISSING, "is stored in plain text", f"a secret: {SECRET_HINT}"))
    if kubeconfig is not None and cloud != KEY:
        problems.append(Problem(KUBECONFIG, MISSING, f"applies to cloud {KEY!r} only; this stack's cloud is {cloud!r}"))
    return problems


def check(existing: Any, kubeconfig: Any, values: Mapping[str, Any]) -> list[Problem]:
    if not isinstance(existing, Mapping):
        return [Problem(HERE, MISSING, "missing", "at least identityCloud")]
    problems = []
    cloud = clouds.find(identity_cloud_of(existing))
    lookup = _lookup(existing)
    if lookup and existing.get("issuer_url") is not None:
        problems.append(
            Problem(
                f"{HERE}.issuerUrl",
                MISSING,
                f"and {HERE}.lookup.clusterName are both set",
                "one of them: the lookup derives the issuer, and which one would win is not defined",
            )
        )
    if lookup and cloud is not None:
        problems += cloud.lookup.check(f"{HERE}.lookup", lookup, values)
    if lookup and identity_cloud_of(existing) == NONE:
        problems.append(
            Problem(
                f"{HERE}.lookup",
                MISSING,
                f"a lookup needs identityCloud {', '.join(identity_clouds()[:-1])}, to know where to look; got 'none'",
            )
        )
    problems += _another_clouds_keys(existing, cloud)
    if cloud is not None and cloud.existing.check is not None:
        problems += cloud.existing.check(HERE, existing, bool(lookup), values)
    if not lookup and existing.get("issuer_url") is None:
        problems.append(
            Problem(
                f"{HERE}.issuerUrl",
                MISSING,
                "missing",
                f"the cluster's OIDC issuer URL, or {HERE}.lookup.clusterName to look it up",
            )
        )
    if not lookup and kubeconfig is None:
        problems.append(
            Problem(
                KUBECONFIG,
                MISSING,
                "missing",
                f"{HERE}.lookup.clusterName to build one; or a kubeconfig as a secret: {SECRET_HINT}",
            )
        )
    return problems


def _another_clouds_keys(existing: Mapping[str, Any], mine: Cloud | None) -> list[Problem]:
    """The keys a cloud adds to the section apply to that cloud only."""
    given_lookup = existing.get("lookup")
    lookup: Mapping[str, Any] = given_lookup if isinstance(given_lookup, Mapping) else {}
    problems = []
    for cloud in clouds.clouds():
        if cloud is mine:
            continue
        given = [(f"{HERE}.lookup.{camel(name)}", lookup.get(name)) for name in cloud.lookup.fields]
        given += [(f"{HERE}.{camel(name)}", existing.get(name)) for name in cloud.existing.fields]
        problems += [
            Problem(key, MISSING, f"applies to identityCloud {cloud.key!r} only")
            for key, value in given
            if value is not None
        ]
    return problems


def lookup_problems(existing: Any, accounts: Sequence[Account]) -> list[Problem]:
    """A mode that needs the cluster's name or ARN needs a lookup: an issuer and kubeconfig give neither."""
    if not isinstance(existing, Mapping) or _lookup(existing):
        return []
    problems = []
    for account in accounts:
        mode = None if account.identity_mode is None else identity.get(account.identity_mode)
        if mode is not None and mode.needs & identity.LOOKUP_FACTS:
            needed = " and ".join(identity.FACTS[fact] for fact in sorted(mode.needs & identity.LOOKUP_FACTS))
            others = [
                m.name for m in identity.offered(identity_cloud_of(existing)) if not m.needs & identity.LOOKUP_FACTS
            ]
            problems.append(
                Problem(
                    f"{account.key}.identityMode",
                    mode.name,
                    f"needs {needed}, which only a lookup gives",
                    f"{HERE}.lookup.clusterName" + "".join(f", or identityMode {name}" for name in others),
                )
            )
    return problems


@dataclass(frozen=True)
class ExistingConfig:
    """A cluster someone else runs; ``cluster_args`` are the ``ExistingCluster`` args."""

    identity_cloud: str
    cluster_args: ExistingClusterArgs = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    """What its identity cloud keeps of the section (:attr:`keyless.clouds.Existing.settings`)."""


def read(existing: Mapping[str, Any], kubeconfig: Any, values: Mapping[str, Any]) -> ExistingConfig:
    identity_cloud = str(existing["identity_cloud"])
    cloud = clouds.find(identity_cloud)
    args: Any = {name: existing[name] for name in ("issuer_url", "context") if existing.get(name) is not None}
    if kubeconfig is not None:
        args["kubeconfig"] = kubeconfig
    lookup = _lookup(existing)
    if lookup and cloud is not None:
        args[cloud.key] = cloud.lookup.args(lookup, values)
    settings = {} if cloud is None or cloud.existing.settings is None else cloud.existing.settings(existing, values)
    return ExistingConfig(identity_cloud, args, settings)


def create(config: ExistingConfig, needs: frozenset[str]) -> Cluster:
    import pulumi

    from keyless.components.existing_cluster import ExistingCluster

    args = config.cluster_args.copy()
    if "kubeconfig" in args:
        args["kubeconfig"] = pulumi.Output.secret(args["kubeconfig"])
    found = ExistingCluster("cluster", args)
    cluster = Cluster(found.issuer_url, found.kubernetes_provider, found.kubeconfig)
    cloud = clouds.find(config.identity_cloud)
    if cloud is not None and cloud.existing.facts is not None:
        lookup: Any = config.cluster_args.get(cloud.key) or {}
        cluster.facts.update(cloud.existing.facts(config.settings, found, lookup, needs))
    return cluster


def issuer(config: ExistingConfig) -> IssuerReference:
    """The given issuer, or the one a lookup derives."""
    args: Mapping[str, Any] = config.cluster_args
    if args.get("issuer_url"):
        return IssuerReference(str(args["issuer_url"]))
    cloud = clouds.get(config.identity_cloud)
    return cloud.lookup.issuer(args[cloud.key])
