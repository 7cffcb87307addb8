"""Map ``keyless:*`` config onto component arguments, reporting every problem at once.

The field rules come from the component specs (:mod:`keyless.config.sections`); this module adds
only what spans sections: which cluster section the cloud needs, where a value comes from
(``gcp:project``, ``aws:region``), which workload runs the login Job, and whether the login's
token lifetime fits the issuer's maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyless import clouds, identity, kinds
from keyless.clouds import existing
from keyless.config import sections
from keyless.config.model import IssuerConfig, StackConfig
from keyless.config.read import RawConfig, parse_structured
from keyless.config.sections import DEPRECATED, PREFIX
from keyless.core import tenancy
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
    """Which cluster section the cloud needs (the cloud's own checks), the provider keys it reads, and
    whether the login's token lifetime fits the issuer's maximum."""
    problems: list[Problem] = []
    cloud = config.get("cloud")
    for name in sections.sources():
        if name != cloud and config.get(name) is not None:
            problems.append(
                Problem(
                    f"{PREFIX}{name}", MISSING, f"is set, but {PREFIX}cloud is {cloud!r}", "remove it or switch cloud"
                )
            )
    kubeconfig = config.get("kubeconfig")
    problems += existing.check_kubeconfig(kubeconfig, cloud, secret_keys)
    managed = clouds.find(cloud)
    if managed is not None:
        problems += managed.check(config.get(managed.key), values)
    elif cloud == existing.KEY:
        problems += existing.check(config.get(existing.KEY), kubeconfig, values)
    identity_cloud = _identity_cloud(config)
    for each in clouds.clouds():
        if values.get(each.provider_key) and each.key in (cloud, identity_cloud):
            problems += each.provider_rule(each.provider_key, values[each.provider_key])
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
    if config.get("cloud") == existing.KEY:
        return existing.identity_cloud_of(config.get(existing.KEY))
    managed = clouds.find(config.get("cloud"))
    return None if managed is None else managed.key


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
    if config.get("cloud") == existing.KEY:
        problems += existing.lookup_problems(config.get(existing.KEY), accounts)
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


def _model(
    config: Mapping[str, Any],
    values: Mapping[str, Any],
    raw: RawConfig,
    entries: Mapping[str, tuple[Any, ...]],
    warnings: tuple[str, ...],
) -> StackConfig:
    cloud = config["cloud"]
    issuer = sections.ISSUER.resolved(config.get("issuer") or {})
    managed = clouds.find(cloud)
    if managed is not None:
        accounts = [a for kind in kinds.kinds() for e in entries[kind.key] for a in kind.accounts(e)]
        modes = [a.identity_mode for a in accounts if a.identity_mode is not None]
        cluster = managed.read(managed.spec.resolved(config[cloud]), values, modes)
    else:
        section = existing.spec().resolved(config[existing.KEY])
        cluster = existing.read(section, config.get("kubeconfig"), values)
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
        cluster=cluster,
        pod_security_level=str(config["pod_security_level"]),
        create_namespaces=bool(config["create_namespaces"]),
        warnings=warnings,
    )
