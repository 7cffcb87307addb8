"""Map ``keyless:*`` config onto component arguments, reporting every problem at once.

The field rules come from the component specs (:mod:`keyless.config.sections`); this module adds
only what spans sections: which cluster section the cloud needs, where a value comes from
(``gcp:project``, ``aws:region``), which workload runs the login Job, and whether the login's
token lifetime fits the issuer's maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from keyless import identity, kinds
from keyless.config import sections
from keyless.config.model import EksConfig, ExistingConfig, IssuerConfig, StackConfig
from keyless.config.read import RawConfig, parse_structured
from keyless.config.sections import DEPRECATED, PREFIX
from keyless.core import aws, azure, gcp, tenancy
from keyless.core.login_job import lifetime_within_issuer_maximum
from keyless.core.problems import MISSING, InvalidArgumentError, Problem
from keyless.core.spec import Field, Spec, camel, join
from keyless.kinds import workloads

__all__ = ["ConfigError", "load_stack_config", "parse"]


class ConfigError(InvalidArgumentError):
    """The stack configuration is invalid; the message lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(problems, "Invalid stack configuration")
        noun = "problem" if len(self.problems) == 1 else "problems"
        self.args = (
            f"Invalid stack configuration ({len(self.problems)} {noun}); nothing was deployed:\n"
            + "\n".join(f"  - {problem}" for problem in self.problems),
        )

    def __str__(self) -> str:
        return str(self.args[0])


def _snake(spec: Spec, raw: Any, here: str, problems: list[Problem], warnings: list[str], section: str) -> Any:
    """``raw`` with camelCase keys renamed to the spec's field names and text coerced to its kinds."""
    if not isinstance(raw, Mapping):
        return raw
    by_key = {camel(name): name for name in spec.fields}
    renamed = dict(raw)
    for old, new in DEPRECATED.get(section, {}).items():
        if old in renamed and by_key.get(old) is None:
            if new in renamed:
                problems.append(
                    Problem(
                        join(here, old),
                        MISSING,
                        f"is deprecated and {join(here, new)} is also set",
                        "only " + join(here, new),
                    )
                )
            else:
                warnings.append(f"{join(here, old)} is deprecated; use {join(here, new)} (the old key goes in 0.3.0)")
                renamed[new] = renamed[old]
            del renamed[old]
    result: dict[str, Any] = {}
    for key, value in renamed.items():
        name = by_key.get(key, key)
        each = spec.fields.get(name)
        result[name] = value if each is None else _coerce(each, value, join(here, key), problems, warnings, key)
    return result


def _coerce(each: Field, value: Any, key: str, problems: list[Problem], warnings: list[str], name: str) -> Any:
    if isinstance(value, str) and each.kind in ("object", "objects", "list", "map"):
        value, error = parse_structured(value)
        if error is not None:
            problems.append(Problem(key, MISSING, f"is not valid JSON ({error})", "an object or a list"))
            return None
    if isinstance(value, str) and each.kind == "int" and value.strip().isdigit():
        return int(value)
    if value in ("true", "false") and each.kind == "bool":
        return value == "true"
    if each.spec is not None and each.kind == "object":
        return _snake(each.spec, value, key, problems, warnings, name)
    if each.spec is not None and each.kind == "objects" and isinstance(value, list):
        return [
            _snake(each.spec, item, f"{key}[{index}]", problems, warnings, f"{name}[]")
            for index, item in enumerate(value)
        ]
    return value


def parse(raw: RawConfig) -> StackConfig:
    """Validate the raw config into a :class:`StackConfig`, or raise :class:`ConfigError`."""
    problems: list[Problem] = []
    warnings: list[str] = []
    values = raw.values
    given = {key[len(PREFIX) :]: value for key, value in values.items() if key.startswith(PREFIX)}
    spec = sections.stack()
    config = _snake(spec, given, PREFIX, problems, warnings, "")
    if isinstance(config.get("gke"), dict) and config["gke"].get("project") is None and values.get("gcp:project"):
        config["gke"]["project"] = values["gcp:project"]
    problems += spec.check(config, PREFIX, camel)
    problems += _across_sections(config, values, raw.secret_keys)
    entries = _entries(config, _identity_cloud(config), problems)
    if not any(w.runs_login_job for w in entries.get(workloads.KIND.key, ())):
        warnings.append(
            f"no {PREFIX}workloads entry has runsLoginJob: true, so no login Job proves the exchange on `pulumi up` "
            "and the stack exports no loginJobName (set it on the workload whose token you want proved)"
        )
    if problems:
        secrets = [str(values[key]) for key in raw.secret_keys if key in values]
        raise ConfigError([problem.masked(secrets) for problem in problems])
    return _model(spec.resolved(config), values, raw, entries, tuple(warnings))


def load_stack_config(
    values: Mapping[str, Any], *, project: str = "keyless", stack: str = "dev", secret_keys: Sequence[str] = ()
) -> StackConfig:
    """Validate a raw config map (``namespace:key`` → value) into a :class:`StackConfig`."""
    return parse(RawConfig(dict(values), tuple(secret_keys), project, stack))


def _across_sections(config: Mapping[str, Any], values: Mapping[str, Any], secret_keys: Sequence[str]) -> list[Problem]:
    problems: list[Problem] = []
    cloud = config.get("cloud")
    for name in sections.Cloud:
        if name != cloud and config.get(name) is not None:
            problems.append(
                Problem(
                    f"{PREFIX}{name}", MISSING, f"is set, but {PREFIX}cloud is {cloud!r}", "remove it or switch cloud"
                )
            )
    kubeconfig = config.get("kubeconfig")
    if kubeconfig is not None and f"{PREFIX}kubeconfig" not in secret_keys:
        problems.append(
            Problem(
                f"{PREFIX}kubeconfig",
                MISSING,
                "is stored in plain text",
                f"a secret: with the Pulumi CLI, `pulumi config set --secret {PREFIX}kubeconfig < kubeconfig.yaml`; "
                f"for an offline preview without it, any secure value (`{PREFIX}kubeconfig: {{secure: placeholder}}`)",
            )
        )
    if kubeconfig is not None and cloud != "existing":
        problems.append(
            Problem(
                f"{PREFIX}kubeconfig", MISSING, f"applies to cloud 'existing' only; this stack's cloud is {cloud!r}"
            )
        )
    identity_cloud = _identity_cloud(config)
    if cloud == "gke":
        gke = config.get("gke") or {}
        if not isinstance(gke, Mapping) or gke.get("project") is None:
            problems.append(Problem(f"{PREFIX}gke.project", MISSING, "missing; set it, or gcp:project"))
        if not isinstance(config.get("gke"), Mapping):
            problems.append(Problem(f"{PREFIX}gke", MISSING, "missing", "the GKE cluster's location and clusterName"))
    elif cloud == "eks":
        if not values.get("aws:region"):
            problems.append(
                Problem(
                    "aws:region",
                    MISSING,
                    "missing; the EKS cluster's region is set with `pulumi config set aws:region …`",
                )
            )
        if not isinstance(config.get("eks"), Mapping):
            problems.append(
                Problem(f"{PREFIX}eks", MISSING, "missing", "the EKS cluster's clusterName and kubernetesVersion")
            )
    elif cloud == "aks":
        if not isinstance(config.get("aks"), Mapping):
            problems.append(Problem(f"{PREFIX}aks", MISSING, "missing", "the AKS cluster's clusterName and location"))
        elif config["aks"].get("location") is None and not values.get("azure-native:location"):
            problems.append(Problem(f"{PREFIX}aks.location", MISSING, "missing; set it, or azure-native:location"))
    elif cloud == "existing":
        existing = config.get("existing")
        if not isinstance(existing, Mapping):
            problems.append(Problem(f"{PREFIX}existing", MISSING, "missing", "at least identityCloud"))
        else:
            problems += _existing(existing, kubeconfig, values)
    problems += _provider_config(values, cloud, identity_cloud)
    login = config.get("login_job") if isinstance(config.get("login_job"), Mapping) else {}
    issuer = config.get("issuer") if isinstance(config.get("issuer"), Mapping) else {}
    lifetime = sections.LOGIN_JOB.resolved(login or {})["exchanged_token_lifetime"]
    maximum = sections.ISSUER.resolved(issuer or {})["max_expiration_seconds"]
    problems += lifetime_within_issuer_maximum(
        f"{PREFIX}loginJob.exchangedTokenLifetime", lifetime, f"{PREFIX}issuer.maxExpirationSeconds", maximum
    )
    return problems


def _identity_cloud(config: Mapping[str, Any]) -> str | None:
    """Whose cloud identities the stack's accounts get: its cloud's, or an existing cluster's choice
    (None while the value is not one: its own key reports it)."""
    if config.get("cloud") != "existing":
        cloud = config.get("cloud")
    else:
        existing = config.get("existing")
        cloud = existing.get("identity_cloud") if isinstance(existing, Mapping) else None
    return cloud if isinstance(cloud, str) and cloud in [*sections.Cloud, *sections.IdentityCloud] else None


def _broken(key: str, problems: Sequence[Problem]) -> bool:
    return any(p.key == key or p.key.startswith((f"{key}.", f"{key}[")) for p in problems)


def _entries(
    config: Mapping[str, Any], identity_cloud: str | None, problems: list[Problem]
) -> dict[str, tuple[Any, ...]]:
    """Each kind's entries, read from its items whose own keys are valid; then the rules over all of
    them: something to trust, one owner per service account, namespaces kept to themselves, and
    each identity mode's own rules."""
    issuer = config["issuer"] if isinstance(config.get("issuer"), Mapping) else {}
    items: dict[str, list[Any]] = {}
    for kind in kinds.kinds():
        given = config.get(kind.field_name)
        items[kind.key] = given if isinstance(given, list) else []
    reading = kinds.Reading(
        identity_cloud,
        sections.ISSUER.resolved(issuer)["max_expiration_seconds"],
        f"{PREFIX}issuer.maxExpirationSeconds",
        given={key: [item for item in value if isinstance(item, Mapping)] for key, value in items.items()},
    )
    for kind in kinds.kinds():
        valid = []
        for index, item in enumerate(items[kind.key]):
            key = kinds.key_of(kind, index, PREFIX)
            if isinstance(item, Mapping) and not _broken(key, problems):
                valid.append((key, item))
        reading.entries[kind.key] = kind.read(valid, reading)
    problems += reading.problems
    if not any(items.values()):
        # Only what owns an account can be trusted (an Operator stack runs as a workload).
        owning = [kind.key for kind in kinds.kinds() if kind.accounts is not kinds.owns_nothing]
        problems.append(
            Problem(
                f"{PREFIX}{owning[0]}",
                MISSING,
                f"missing, and the stack declares no {' or '.join(owning[1:])} either",
                "at least one entry, e.g. a workload with namespace, serviceAccount and tokenType: an issuer with "
                "no policies trusts nobody",
            )
        )
    accounts = [a for kind in kinds.kinds() for e in reading.entries[kind.key] for a in kind.accounts(e)]
    problems += tenancy.one_owner([(a.key, a.namespace, a.name) for a in accounts])
    uses = [u for kind in kinds.kinds() for e in reading.entries[kind.key] for u in kind.namespaces(e)]
    problems += tenancy.namespaces_alone([(u.key, u.name, u.alone) for u in uses])
    controllers = {ns: who for kind in kinds.kinds() for ns, who in kind.controllers(reading.entries[kind.key]).items()}
    reserved = tenancy.reserved(controllers)  # (StackConfig.reserved_namespaces, before there is one)
    for use in dict.fromkeys(uses):
        if not use.allowed:
            problems += tenancy.not_reserved(f"{use.key}.namespace", use.name, reserved)
    problems += _needs_a_lookup(config, accounts)
    problems += _across(accounts)
    return reading.entries


def _across(accounts: Sequence[kinds.Account]) -> list[Problem]:
    """Each mode's rules over all its accounts at once (e.g. credentials per shared identity)."""
    members: dict[str, list[tuple[str, identity.Peer]]] = {}
    for account in accounts:
        if account.identity_mode is not None and identity.get(account.identity_mode).check_all is not None:
            peer = identity.Peer(account.namespace, account.name, account.identity_settings)
            members.setdefault(account.identity_mode, []).append((account.key, peer))
    problems = []
    for name, found in members.items():
        check = identity.get(name).check_all
        assert check is not None
        problems += check(found)
    return problems


def _existing(existing: Mapping[str, Any], kubeconfig: Any, values: Mapping[str, Any]) -> list[Problem]:
    here = f"{PREFIX}existing"
    problems = []
    identity_cloud = _identity_cloud({"cloud": "existing", "existing": existing})
    lookup: Mapping[str, Any] = existing["lookup"] if isinstance(existing.get("lookup"), Mapping) else {}
    has_lookup = bool(lookup) and lookup.get("cluster_name") is not None
    if has_lookup and existing.get("issuer_url") is not None:
        problems.append(
            Problem(
                f"{here}.issuerUrl",
                MISSING,
                f"and {here}.lookup.clusterName are both set",
                "one of them: the lookup derives the issuer, and which one would win is not defined",
            )
        )
    name_rules = {"gke": gcp.cluster_name, "eks": aws.cluster_name, "aks": azure.cluster_name}
    if has_lookup and identity_cloud in name_rules:
        problems += name_rules[identity_cloud](f"{here}.lookup.clusterName", lookup["cluster_name"])
    if has_lookup and identity_cloud == "none":
        problems.append(
            Problem(
                f"{here}.lookup",
                MISSING,
                "a lookup needs identityCloud gke, eks or aks, to know where to look; got 'none'",
            )
        )
    if has_lookup and identity_cloud == "aks" and lookup.get("resource_group_name") is None:
        problems.append(
            Problem(f"{here}.lookup.resourceGroupName", MISSING, "missing; an AKS lookup needs the cluster's group")
        )
    if identity_cloud != "aks" and lookup.get("resource_group_name") is not None:
        problems.append(Problem(f"{here}.lookup.resourceGroupName", MISSING, "applies to identityCloud 'aks' only"))
    if identity_cloud != "aks" and existing.get("identity_resource_group") is not None:
        problems.append(Problem(f"{here}.identityResourceGroup", MISSING, "applies to identityCloud 'aks' only"))
    if identity_cloud == "aks" and not has_lookup:
        if existing.get("identity_resource_group") is None:
            problems.append(
                Problem(
                    f"{here}.identityResourceGroup",
                    MISSING,
                    "missing; without a lookup, the resource group for the workloads' identities",
                    f"a resource group, or {here}.lookup.clusterName and resourceGroupName",
                )
            )
        if not values.get("azure-native:location"):
            problems.append(
                Problem("azure-native:location", MISSING, "missing; the region of the workloads' identities")
            )
    if has_lookup and identity_cloud == "gke" and lookup.get("location") is None:
        problems.append(
            Problem(f"{here}.lookup.location", MISSING, "missing; a GKE lookup needs the cluster's region or zone")
        )
    if not has_lookup and existing.get("issuer_url") is None:
        problems.append(
            Problem(
                f"{here}.issuerUrl",
                MISSING,
                "missing",
                f"the cluster's OIDC issuer URL, or {here}.lookup.clusterName to look it up",
            )
        )
    if not has_lookup and kubeconfig is None:
        problems.append(
            Problem(
                f"{PREFIX}kubeconfig",
                MISSING,
                "missing",
                f"{here}.lookup.clusterName to build one; or a kubeconfig as a secret: with the Pulumi CLI, "
                f"`pulumi config set --secret {PREFIX}kubeconfig < kubeconfig.yaml`; for an offline preview without "
                f"it, any secure value in the stack file (`{PREFIX}kubeconfig: {{secure: placeholder}}`)",
            )
        )
    if identity_cloud == "gke" and not values.get("gcp:project"):
        problems.append(
            Problem("gcp:project", MISSING, "missing; Workload Identity on an existing GKE cluster needs the project")
        )
    if identity_cloud == "eks" and has_lookup and not values.get("aws:region"):
        problems.append(Problem("aws:region", MISSING, "missing; an EKS lookup needs the cluster's region"))
    if identity_cloud != "eks" and existing.get("oidc_provider_arn") is not None:
        problems.append(Problem(f"{here}.oidcProviderArn", MISSING, "applies to identityCloud 'eks' only"))
    return problems


def _provider_config(values: Mapping[str, Any], cloud: Any, identity_cloud: Any) -> list[Problem]:
    """The cloud providers' own keys this stack reads, checked like its own."""
    problems = []
    if values.get("gcp:project") and "gke" in (cloud, identity_cloud):
        problems += gcp.project_id("gcp:project", values["gcp:project"])
    if values.get("aws:region") and "eks" in (cloud, identity_cloud):
        problems += aws.region("aws:region", values["aws:region"])
    if values.get("azure-native:location") and "aks" in (cloud, identity_cloud):
        problems += azure.location("azure-native:location", values["azure-native:location"])
    return problems


def _needs_a_lookup(config: Mapping[str, Any], accounts: Sequence[kinds.Account]) -> list[Problem]:
    """On a cluster someone else runs, a mode that needs the cluster's name or ARN needs a lookup."""
    existing = config.get("existing")
    if config.get("cloud") != "existing" or not isinstance(existing, Mapping):
        return []
    lookup = existing.get("lookup") if isinstance(existing.get("lookup"), Mapping) else {}
    if lookup and lookup.get("cluster_name") is not None:
        return []
    problems = []
    for account in accounts:
        mode = None if account.identity_mode is None else identity.get(account.identity_mode)
        if mode is not None and mode.needs & identity.LOOKUP_FACTS:
            needed = " and ".join(identity.FACTS[fact] for fact in sorted(mode.needs & identity.LOOKUP_FACTS))
            others = [
                m.name for m in identity.offered(existing.get("identity_cloud")) if not m.needs & identity.LOOKUP_FACTS
            ]
            problems.append(
                Problem(
                    f"{account.key}.identityMode",
                    mode.name,
                    f"needs {needed}, which only a lookup gives",
                    f"{PREFIX}existing.lookup.clusterName" + "".join(f", or identityMode {name}" for name in others),
                )
            )
    return problems


def _model(
    config: Mapping[str, Any],
    values: Mapping[str, Any],
    raw: RawConfig,
    entries: Mapping[str, tuple[Any, ...]],
    warnings: tuple[str, ...],
) -> StackConfig:
    cloud = config["cloud"]
    issuer = sections.ISSUER.resolved(config.get("issuer") or {})
    gke = eks = aks = existing = None
    if cloud == "aks":
        aks_values = sections.AKS.resolved(config["aks"])
        aks_values["location"] = aks_values.get("location") or values["azure-native:location"]
        aks = {key: value for key, value in aks_values.items() if value is not None}
    elif cloud == "gke":
        gke = sections.GKE.resolved(config["gke"])
    elif cloud == "eks":
        eks_values = sections.EKS.resolved(config["eks"])
        cluster_args = {
            key: eks_values[key] for key in eks_values if key not in ("oidc_provider_arn", "oidc_thumbprints")
        }
        cluster_args["region"] = values["aws:region"]
        accounts = [a for kind in kinds.kinds() for e in entries[kind.key] for a in kind.accounts(e)]
        for name in dict.fromkeys(a.identity_mode for a in accounts if a.identity_mode is not None):
            cluster_args.update(identity.get(name).cluster_args.get("eks", {}))
        if cluster_args.get("subnet_ids") is None:
            cluster_args.pop("subnet_ids", None)
        thumbprints = eks_values.get("oidc_thumbprints")
        eks = EksConfig(
            cast(Any, cluster_args),
            eks_values.get("oidc_provider_arn"),
            None if thumbprints is None else tuple(thumbprints),
        )
    else:
        existing = _existing_model(sections.EXISTING.resolved(config["existing"]), config.get("kubeconfig"), values)
    return StackConfig(
        cloud=cloud,
        organization=str(config["organization"]),
        entries=entries,
        login_job=sections.LOGIN_JOB.resolved(config.get("login_job") or {}),
        issuer=IssuerConfig(
            name=issuer["name"] or f"{raw.project}-{raw.stack}",
            max_expiration_seconds=issuer["max_expiration_seconds"],
            pin_audience=issuer["pin_audience"],
        ),
        pod_security_level=str(config["pod_security_level"]),
        create_namespaces=bool(config["create_namespaces"]),
        gke=cast(Any, gke),
        eks=eks,
        aks=cast(Any, aks),
        existing=existing,
        warnings=warnings,
    )


def _existing_model(existing: Mapping[str, Any], kubeconfig: Any, values: Mapping[str, Any]) -> ExistingConfig:
    identity_cloud = existing["identity_cloud"]
    lookup = existing.get("lookup") or {}
    args: dict[str, Any] = {}
    for name in ("issuer_url", "context"):
        if existing.get(name) is not None:
            args[name] = existing[name]
    if kubeconfig is not None:
        args["kubeconfig"] = kubeconfig
    if lookup.get("cluster_name") is not None and identity_cloud == "gke":
        args["gke"] = {
            "project": values.get("gcp:project") or "",
            "location": lookup.get("location") or "",
            "cluster_name": lookup["cluster_name"],
        }
    elif lookup.get("cluster_name") is not None and identity_cloud == "eks":
        args["eks"] = {"cluster_name": lookup["cluster_name"], "region": values.get("aws:region") or ""}
    elif lookup.get("cluster_name") is not None and identity_cloud == "aks":
        args["aks"] = {"cluster_name": lookup["cluster_name"], "resource_group_name": lookup["resource_group_name"]}
    return ExistingConfig(
        identity_cloud=cast(Any, identity_cloud),
        cluster_args=cast(Any, args),
        gcp_project=values.get("gcp:project"),
        oidc_provider_arn=existing.get("oidc_provider_arn"),
        azure_resource_group=lookup.get("resource_group_name") or existing.get("identity_resource_group"),
        azure_location=values.get("azure-native:location"),
    )
