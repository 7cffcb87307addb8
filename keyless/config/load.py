"""Map ``keyless:*`` config onto component arguments, reporting every problem at once.

The field rules come from the component specs (:mod:`keyless.config.sections`); this module adds
only what spans sections: which cluster section the cloud needs, where a value comes from
(``gcp:project``, ``aws:region``), which workload runs the login Job, and whether the login's
token lifetime fits the issuer's maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from keyless import identity
from keyless.config import sections
from keyless.config.model import EksConfig, ExistingConfig, IssuerConfig, RunnerConfig, StackConfig, WorkloadConfig
from keyless.config.read import RawConfig, parse_structured
from keyless.config.sections import DEPRECATED, PREFIX
from keyless.core import aws, azure, esc, gcp, runner
from keyless.core.login_job import lifetime_within_issuer_maximum
from keyless.core.naming import earlier_workload_names
from keyless.core.problems import MISSING, InvalidArgumentError, Problem
from keyless.core.pulumi_cloud import LOGIN_TOKEN_TYPES, WORKLOAD_POLICY, TokenType
from keyless.core.spec import Field, Spec, camel, join

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
    if "workloads" not in config:
        problems.append(
            Problem(
                f"{PREFIX}workloads",
                MISSING,
                "missing",
                "a list of workloads, each with namespace, serviceAccount and tokenType",
            )
        )
        config["workloads"] = []
    if isinstance(config.get("gke"), dict) and config["gke"].get("project") is None and values.get("gcp:project"):
        config["gke"]["project"] = values["gcp:project"]
    problems += [
        p for p in spec.check(config, PREFIX, camel) if not (p.key == f"{PREFIX}workloads" and p.value is MISSING)
    ]
    problems += _across_sections(config, values, raw.secret_keys)
    if problems:
        secrets = [str(values[key]) for key in raw.secret_keys if key in values]
        raise ConfigError([problem.masked(secrets) for problem in problems])
    return _model(spec.resolved(config), values, raw, tuple(warnings))


def load_stack_config(
    values: Mapping[str, Any], *, project: str = "keyless", stack: str = "dev", secret_keys: Sequence[str] = ()
) -> StackConfig:
    """Validate a raw config map (``namespace:key`` → value) into a :class:`StackConfig`."""
    return parse(RawConfig(dict(values), tuple(secret_keys), project, stack))


def _across_sections(config: Mapping[str, Any], values: Mapping[str, Any], secret_keys: Sequence[str]) -> list[Problem]:
    problems: list[Problem] = []
    cloud = config.get("cloud")
    for name in ("gke", "eks", "existing"):
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
                f"a secret: `pulumi config set --secret {PREFIX}kubeconfig < kubeconfig.yaml`",
            )
        )
    if kubeconfig is not None and cloud != "existing":
        problems.append(
            Problem(
                f"{PREFIX}kubeconfig", MISSING, f"applies to cloud 'existing' only; this stack's cloud is {cloud!r}"
            )
        )
    identity_cloud: str | None = cloud
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
            identity_cloud = None
        else:
            identity_cloud = existing.get("identity_cloud")
            problems += _existing(existing, kubeconfig, values)
    problems += _workloads(config.get("workloads"), identity_cloud)
    if cloud == "existing":
        problems += _needs_a_lookup(config)
    problems += _provider_config(values, cloud, identity_cloud)
    problems += _own_accounts(config)
    login = config.get("login_job") if isinstance(config.get("login_job"), Mapping) else {}
    issuer = config.get("issuer") if isinstance(config.get("issuer"), Mapping) else {}
    lifetime = sections.LOGIN_JOB.resolved(login or {})["exchanged_token_lifetime"]
    maximum = sections.ISSUER.resolved(issuer or {})["max_expiration_seconds"]
    problems += lifetime_within_issuer_maximum(
        f"{PREFIX}loginJob.exchangedTokenLifetime", lifetime, f"{PREFIX}issuer.maxExpirationSeconds", maximum
    )
    problems += _operator_stacks(config, maximum)
    problems += _workflow_runners(config, identity_cloud, maximum)
    problems += _across(config, identity_cloud)
    return problems


def _across(config: Mapping[str, Any], identity_cloud: str | None) -> list[Problem]:
    """Each mode's rules over all its workloads at once (e.g. credentials per shared identity)."""
    members: dict[str, list[tuple[str, identity.Peer]]] = {}
    for index, workload in enumerate(config.get("workloads") or []):
        mode = _mode_of(workload, identity_cloud)
        if mode is None or mode.check_all is None or not isinstance(workload, Mapping):
            continue
        peer = identity.Peer(
            str(workload.get("namespace")),
            str(workload.get("service_account")),
            _settings(mode, workload),
        )
        members.setdefault(mode.name, []).append((f"{PREFIX}workloads[{index}]", peer))
    problems = []
    for name, found in members.items():
        check = identity.get(name).check_all
        assert check is not None
        problems += check(found)
    return problems


def _existing(existing: Mapping[str, Any], kubeconfig: Any, values: Mapping[str, Any]) -> list[Problem]:
    here = f"{PREFIX}existing"
    problems = []
    identity_cloud = existing.get("identity_cloud")
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
                f"set it with `pulumi config set --secret {PREFIX}kubeconfig < kubeconfig.yaml`, or give "
                f"{here}.lookup.clusterName to build one",
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


def _operator_stacks(config: Mapping[str, Any], maximum: Any) -> list[Problem]:
    """An Operator stack runs as a declared workload whose token the CLI can request, for no longer
    than the issuer allows."""
    workloads = {
        f"{w.get('namespace')}/{w.get('service_account')}": w
        for w in config.get("workloads") or []
        if isinstance(w, Mapping)
    }
    problems = []
    for index, entry in enumerate(config.get("operator_stacks") or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("workload"), str):
            continue
        here = f"{PREFIX}operatorStacks[{index}]"
        workload = workloads.get(entry["workload"])
        if workload is None:
            problems.append(
                Problem(f"{here}.workload", entry["workload"], "names no workload", f"one of: {', '.join(workloads)}")
            )
        elif workload.get("token_type") not in [t.value for t in LOGIN_TOKEN_TYPES]:
            problems.append(
                Problem(
                    f"{here}.workload",
                    entry["workload"],
                    f"has tokenType {workload.get('token_type')!r}, which the workspace's CLI cannot request",
                    "a workload with tokenType organization, team or personal",
                )
            )
        lifetime = sections.OPERATOR_STACK.resolved(entry)["exchanged_token_lifetime"]
        problems += lifetime_within_issuer_maximum(
            f"{here}.exchangedTokenLifetime", lifetime, f"{PREFIX}issuer.maxExpirationSeconds", maximum
        )
    return problems


def _own_accounts(config: Mapping[str, Any]) -> list[Problem]:
    """An ESC store's service account, and a workflow runner's agent and worker accounts, are their
    own: no workload's, no other store's or runner's."""
    taken = {
        (w.get("namespace"), w.get("service_account")): f"{PREFIX}workloads[{index}]"
        for index, w in enumerate(config.get("workloads") or [])
        if isinstance(w, Mapping)
    }
    claims: list[tuple[str, tuple[Any, str]]] = []
    for index, store in enumerate(config.get("esc_stores") or []):
        if isinstance(store, Mapping) and isinstance(store.get("name"), str):
            account = esc.store_service_account(store["name"], store.get("service_account"))
            claims.append((f"{PREFIX}escStores[{index}]", (store.get("namespace"), account)))
    for index, entry in enumerate(config.get("workflow_runners") or []):
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            here = f"{PREFIX}workflowRunners[{index}]"
            worker = runner.worker_service_account(entry["name"], entry.get("worker_service_account"))
            claims += [(here, (entry.get("namespace"), entry["name"])), (here, (entry.get("namespace"), worker))]
    problems = []
    for here, pair in claims:
        if pair in taken:
            problems.append(
                Problem(
                    here, MISSING, f"uses the service account {pair[0]}/{pair[1]} of {taken[pair]}", "its own account"
                )
            )
        taken[pair] = here
    return problems


def _workflow_runners(config: Mapping[str, Any], identity_cloud: str | None, maximum: Any) -> list[Problem]:
    """A runner has its namespace to itself (its agents may start any pod there, as any account
    there); its worker takes an identity mode of the stack's cloud; its agents' tokens live no
    longer than the issuer allows."""
    others = {
        str(item.get("namespace")): f"{PREFIX}{key}[{index}]"
        for key, section in (("workloads", "workloads"), ("escStores", "esc_stores"))
        for index, item in enumerate(config.get(section) or [])
        if isinstance(item, Mapping)
    }
    problems = []
    for index, entry in enumerate(config.get("workflow_runners") or []):
        if not isinstance(entry, Mapping):
            continue
        here = f"{PREFIX}workflowRunners[{index}]"
        mode = _mode_of(entry, identity_cloud)
        if mode is not None and mode.pod_labels:
            problems.append(
                Problem(
                    f"{here}.identityMode",
                    mode.name,
                    f"needs the label {', '.join(f'{k}={v}' for k, v in mode.pod_labels.items())} on the pods that "
                    "use it, and the agent starts the workflow pods from its own spec, which this stack cannot label",
                    "a runner on a cluster whose mode needs no pod label, or the label set in the agent's worker "
                    "pod template by hand",
                )
            )
        namespace = str(entry.get("namespace"))
        if namespace in others:
            problems.append(
                Problem(
                    f"{here}.namespace",
                    namespace,
                    f"is also the namespace of {others[namespace]}: the agents may start pods as any service "
                    "account of their namespace, and so act as that workload",
                    "a namespace of the runner's own",
                )
            )
        others[namespace] = here
        problems += _identity(here, entry, identity_cloud)
        expiration = sections.workflow_runner().resolved(entry)["token_expiration"]
        problems += lifetime_within_issuer_maximum(
            f"{here}.tokenExpiration", expiration, f"{PREFIX}issuer.maxExpirationSeconds", maximum
        )
    return problems


def _needs_a_lookup(config: Mapping[str, Any]) -> list[Problem]:
    """On a cluster someone else runs, a mode that needs the cluster's name or ARN needs a lookup."""
    existing = config.get("existing") or {}
    lookup = existing.get("lookup") if isinstance(existing.get("lookup"), Mapping) else {}
    if lookup and lookup.get("cluster_name") is not None:
        return []
    problems = []
    entries = [(f"{PREFIX}workloads[{index}]", w) for index, w in enumerate(config.get("workloads") or [])]
    entries += [(f"{PREFIX}workflowRunners[{i}]", r) for i, r in enumerate(config.get("workflow_runners") or [])]
    for here, workload in entries:
        mode = _mode_of(workload, existing.get("identity_cloud"))
        if mode is not None and mode.needs & identity.LOOKUP_FACTS:
            needed = " and ".join(identity.FACTS[fact] for fact in sorted(mode.needs & identity.LOOKUP_FACTS))
            others = [
                m.name for m in identity.offered(existing.get("identity_cloud")) if not m.needs & identity.LOOKUP_FACTS
            ]
            problems.append(
                Problem(
                    f"{here}.identityMode",
                    mode.name,
                    f"needs {needed}, which only a lookup gives",
                    f"{PREFIX}existing.lookup.clusterName" + "".join(f", or identityMode {name}" for name in others),
                )
            )
    return problems


def _settings(mode: identity.Mode | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The mode's own fields of a workload (or a runner's worker), as the config gives them."""
    return {} if mode is None else {name: values.get(name) for name in mode.fields}


def _mode_of(workload: Any, identity_cloud: str | None) -> identity.Mode | None:
    """The workload's mode: the one it names if the registry has it, else its cloud's default."""
    if not isinstance(workload, Mapping):
        return None
    name = workload.get("identity_mode")
    if name is None:
        return identity.default(identity_cloud)
    return next((mode for mode in identity.modes() if mode.name == name), None)


def _identity(here: str, workload: Mapping[str, Any], identity_cloud: str | None) -> list[Problem]:
    """The mode must be one the stack's identity cloud offers; a mode's fields need that mode."""
    if identity_cloud is None:
        return []
    name = workload.get("identity_mode")
    offered = [mode.name for mode in identity.offered(identity_cloud)]
    problems = []
    if name is not None and name not in offered:
        accepted = (
            f"one of: {', '.join(offered)}"
            if offered
            else "no identityMode: this stack gives workloads no cloud identity"
        )
        problems.append(
            Problem(f"{here}.identityMode", name, f"is not a mode of identity cloud {identity_cloud!r}", accepted)
        )
    mode = _mode_of(workload, identity_cloud)
    own = mode.fields if mode is not None else {}
    for field in identity.fields():
        if workload.get(field) is not None and field not in own:
            modes = ", ".join(identity.declaring(field))
            whose = "this workload's" if "workloads[" in here else "its worker's"
            this = f"{whose} is {mode.name!r}" if mode is not None else f"{whose} is none"
            problems.append(Problem(f"{here}.{camel(field)}", MISSING, f"applies to identityMode {modes} only; {this}"))
    return problems


def _workloads(workloads: Any, identity_cloud: str | None) -> list[Problem]:
    if not isinstance(workloads, list):
        return []
    problems = []
    login = []
    for index, workload in enumerate(workloads):
        if not isinstance(workload, Mapping):
            continue
        here = f"{PREFIX}workloads[{index}]"
        if workload.get("runs_login_job") is True:
            login.append(index)
            token_type = workload.get("token_type")
            if token_type in [t.value for t in TokenType] and token_type not in [t.value for t in LOGIN_TOKEN_TYPES]:
                problems.append(
                    Problem(
                        f"{here}.runsLoginJob",
                        True,
                        f"is not accepted with tokenType {token_type!r}",
                        f"it only on workloads whose tokenType the login can request "
                        f"({', '.join(t.value for t in LOGIN_TOKEN_TYPES)}): runner tokens are for deployment agents",
                    )
                )
        if workload.get("esc_environments") and workload.get("runs_login_job") is not True:
            problems.append(
                Problem(
                    f"{here}.escEnvironments",
                    workload["esc_environments"],
                    "is not accepted without runsLoginJob: true",
                    "it on the workload the login Job runs as (it opens them with that workload's token)",
                )
            )
        problems += _identity(here, workload, identity_cloud)
    if len(login) > 1:
        problems.append(
            Problem(
                f"{PREFIX}workloads",
                MISSING,
                f"runsLoginJob: true is set on workloads {login}",
                "it on at most one workload",
            )
        )
    return problems


def _model(
    config: Mapping[str, Any], values: Mapping[str, Any], raw: RawConfig, warnings: tuple[str, ...]
) -> StackConfig:
    cloud = config["cloud"]
    identity_cloud = config["existing"]["identity_cloud"] if cloud == "existing" else cloud
    workloads = tuple(_workload(sections.workload().resolved(item), identity_cloud) for item in config["workloads"])
    earlier = earlier_workload_names([(w.namespace, w.service_account) for w in workloads])
    workloads = tuple(replace(w, earlier_resource_name=earlier[(w.namespace, w.service_account)]) for w in workloads)
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
        for name in dict.fromkeys(w.identity_mode for w in workloads if w.identity_mode is not None):
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
        esc_stores=tuple(_esc_store(store) for store in config.get("esc_stores") or ()),
        operator_stacks=tuple(sections.OPERATOR_STACK.resolved(entry) for entry in config.get("operator_stacks") or ()),
        workflow_runners=tuple(_runner(entry, identity_cloud) for entry in config.get("workflow_runners") or ()),
        organization=str(config["organization"]),
        workloads=workloads,
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


def _workload(values: Mapping[str, Any], identity_cloud: str) -> WorkloadConfig:
    policy = {name: values[name] for name in WORKLOAD_POLICY.fields if values.get(name) is not None}
    if "authorized_permissions" in policy:
        policy["authorized_permissions"] = list(policy["authorized_permissions"])
    mode = _mode_of(values, identity_cloud)
    settings = _settings(mode, values)
    return WorkloadConfig(
        policy=policy,
        runs_login_job=bool(values["runs_login_job"]),
        esc_environments=tuple(values["esc_environments"]),
        identity_mode=None if mode is None else mode.name,
        identity_settings=settings,
    )


def _runner(entry: Mapping[str, Any], identity_cloud: str) -> RunnerConfig:
    values = sections.workflow_runner().resolved(entry)
    mode = _mode_of(values, identity_cloud)
    return RunnerConfig(
        args={name: values[name] for name in runner.WORKFLOW_RUNNER.fields if name in values},
        identity_mode=None if mode is None else mode.name,
        identity_settings=_settings(mode, values),
    )


def _esc_store(values: Mapping[str, Any]) -> dict[str, Any]:
    store = sections.ESC_STORE.resolved(values)
    secrets = [esc.EXTERNAL_SECRET.resolved(secret) for secret in store.get("external_secrets") or ()]
    return {**store, "external_secrets": secrets}


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
