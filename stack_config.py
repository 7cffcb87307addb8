"""The stack's configuration: one typed model, validated as a whole before any resource exists.

``load_stack_config`` takes the raw config map (``namespace:key`` → string, as Pulumi hands it
to the program) and returns a frozen :class:`StackConfig`, or raises :class:`ConfigError`
listing every problem, each naming the key, the bad value and what is accepted.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from components._common import (
    MIN_PROJECTED_TOKEN_SECONDS,
    InvalidArgumentError,
    check_choice,
    check_dns1123_label,
    check_int_range,
    check_non_empty,
    check_pinned_image,
)
from components.oidc_login_runner import (
    DEFAULT_ACTIVE_DEADLINE_SECONDS,
    DEFAULT_AWAIT_TIMEOUT_SECONDS,
    DEFAULT_BACKEND_URL,
    DEFAULT_EXCHANGED_TOKEN_LIFETIME,
    DEFAULT_IMAGE,
    DEFAULT_TOKEN_EXPIRATION_SECONDS,
    LOGIN_TOKEN_TYPES,
    duration_seconds,
)
from components.pulumi_cloud_trust import (
    DEFAULT_MAX_EXPIRATION_SECONDS,
    MAX_EXPIRATION_LIMIT_SECONDS,
    PERMISSION_LEVELS,
    TOKEN_COMPANIONS,
    TOKEN_TYPES,
    WorkloadPolicy,
    check_issuer_url,
)
from components.restricted_namespace import POD_SECURITY_LEVELS

NAMESPACE = "keyless"
CLOUDS = ("gke", "eks", "existing")
IDENTITY_CLOUDS = ("gke", "eks", "none")

T = TypeVar("T")
Cloud = Literal["gke", "eks", "existing"]
# Cloud-specific checks live beside their components and import that cloud's SDK: they are
# imported inside the functions below, so a GKE stack never loads pulumi_aws and vice versa.


class ConfigError(InvalidArgumentError):
    """The stack configuration is invalid; the message lists every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(
            f"Invalid stack configuration ({len(self.problems)} {noun}); nothing was deployed:\n"
            + "\n".join(f"  - {problem}" for problem in self.problems)
        )


@dataclass(frozen=True)
class WorkloadConfig:
    namespace: str
    service_account: str
    token_type: str
    team_name: str | None = None
    user_login: str | None = None
    runner_id: str | None = None
    authorized_permissions: tuple[str, ...] | None = None
    role_id: str | None = None
    runs_login_job: bool = False
    gcp_roles: tuple[str, ...] = ()
    aws_managed_policy_arns: tuple[str, ...] = ()
    aws_permissions_boundary: str | None = None

    @property
    def resource_name(self) -> str:
        # "." never occurs in a DNS-1123 label, so distinct workloads never share a name
        # (with "-", a-b/c and a/b-c would).
        return f"{self.namespace}.{self.service_account}"

    def policy(self) -> WorkloadPolicy:
        policy: WorkloadPolicy = {
            "namespace": self.namespace,
            "service_account": self.service_account,
            "token_type": self.token_type,
        }
        for key in ("team_name", "user_login", "runner_id", "role_id"):
            value = getattr(self, key)
            if value is not None:
                policy[key] = value
        if self.authorized_permissions is not None:
            policy["authorized_permissions"] = list(self.authorized_permissions)
        return policy


@dataclass(frozen=True)
class RunnerConfig:
    image: str = DEFAULT_IMAGE
    token_expiration_seconds: int = DEFAULT_TOKEN_EXPIRATION_SECONDS
    exchanged_token_lifetime: str = DEFAULT_EXCHANGED_TOKEN_LIFETIME
    active_deadline_seconds: int = DEFAULT_ACTIVE_DEADLINE_SECONDS
    await_timeout_seconds: int = DEFAULT_AWAIT_TIMEOUT_SECONDS
    backend_url: str = DEFAULT_BACKEND_URL


@dataclass(frozen=True)
class IssuerConfig:
    name: str
    max_expiration_seconds: int = DEFAULT_MAX_EXPIRATION_SECONDS
    pin_audience: bool = False


@dataclass(frozen=True)
class GkeConfig:
    project: str
    location: str
    cluster_name: str
    node_count: int = 1
    machine_type: str = "e2-standard-2"
    release_channel: str = "REGULAR"
    deletion_protection: bool = True


@dataclass(frozen=True)
class EksConfig:
    region: str
    cluster_name: str
    kubernetes_version: str
    subnet_ids: tuple[str, ...] | None = None
    instance_types: tuple[str, ...] = ("t3.medium",)
    desired_size: int = 2
    min_size: int = 1
    max_size: int = 3
    deletion_protection: bool = True
    oidc_provider_arn: str | None = None
    oidc_thumbprints: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ExistingConfig:
    identity_cloud: str
    issuer_url: str | None = None
    kubeconfig: str | None = field(default=None, repr=False)
    context: str | None = None
    lookup_cluster_name: str | None = None
    lookup_location: str | None = None
    gcp_project: str | None = None
    aws_region: str | None = None
    oidc_provider_arn: str | None = None


@dataclass(frozen=True)
class StackConfig:
    cloud: Cloud
    organization: str
    workloads: tuple[WorkloadConfig, ...]
    runner: RunnerConfig
    issuer: IssuerConfig
    pod_security_level: str = "restricted"
    create_namespaces: bool = True
    gke: GkeConfig | None = None
    eks: EksConfig | None = None
    existing: ExistingConfig | None = None

    @property
    def identity_cloud(self) -> str:
        if self.existing is not None:
            return self.existing.identity_cloud
        return self.cloud

    @property
    def login_workload(self) -> WorkloadConfig | None:
        return next((w for w in self.workloads if w.runs_login_job), None)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.namespace for w in self.workloads))


_MISSING = object()


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except InvalidArgumentError as error:
            self.items.append(str(error))
            return None


class _Section:
    """One config object: reports unknown keys and reads typed fields under their full key."""

    def __init__(self, path: str, raw: object, accepted: Sequence[str], problems: _Problems) -> None:
        self.path = path
        self.problems = problems
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.items.append(f"{path}: {raw!r} is not an object; expected keys: {', '.join(accepted)}")
            raw = {}
        self.raw = cast(Mapping[str, Any], raw)
        for key in sorted(set(self.raw) - set(accepted)):
            problems.items.append(f"{self.key(key)}: unknown key; expected one of: {', '.join(accepted)}")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if not self.path.endswith(":") else f"{self.path}{name}"

    def get(self, name: str, check: Callable[[str, Any], T], default: Any = _MISSING) -> T | None:
        if name not in self.raw or self.raw[name] is None:
            if default is _MISSING:
                self.problems.items.append(f"{self.key(name)}: missing; it is required")
                return None
            return cast(T, default)
        return self.problems.check(lambda: check(self.key(name), self.raw[name]))


def _string(key: str, value: Any) -> str:
    return check_non_empty(key, value)


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise InvalidArgumentError(f"{key}: {value!r} is not accepted; expected true or false")


def _int(minimum: int, maximum: int | None = None) -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        return check_int_range(key, value, minimum=minimum, maximum=maximum)

    return check


def _choice(accepted: Sequence[str]) -> Callable[[str, Any], str]:
    return lambda key, value: check_choice(key, value, accepted)


def _string_list(
    item_check: Callable[[str, Any], str], *, allow_empty: bool = True
) -> Callable[[str, Any], tuple[str, ...]]:
    def check(key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise InvalidArgumentError(
                f"{key}: {value!r} is not accepted; expected a {'non-empty ' if not allow_empty else ''}list"
            )
        items = tuple(item_check(f"{key}[{index}]", item) for index, item in enumerate(value))
        if len(set(items)) != len(items):
            raise InvalidArgumentError(f"{key}: {list(items)!r} repeats an item; expected each once")
        return items

    return check


def _project_role(key: str, value: Any) -> str:
    from components.gcp_workload_identity import check_project_role

    return check_project_role(key, value)


def _policy_arn(key: str, value: Any) -> str:
    from components.irsa_role import check_policy_arn

    return check_policy_arn(key, value)


def _provider_arn(key: str, value: Any) -> str:
    if not isinstance(value, str) or ":oidc-provider/" not in value or not value.startswith("arn:aws"):
        raise InvalidArgumentError(
            f"{key}: {value!r} is not an IAM OIDC provider ARN; expected "
            "'arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>'"
        )
    return value


def _parse_json_value(key: str, raw: Any, problems: _Problems) -> Any:
    """Structured config arrives as JSON text; plain strings stay strings."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            problems.items.append(f"{key}: is not valid JSON ({error.msg}); expected an object or a list")
            return None
    return raw


_WORKLOAD_KEYS = (
    "namespace",
    "serviceAccount",
    "tokenType",
    "teamName",
    "userLogin",
    "runnerId",
    "authorizedPermissions",
    "roleId",
    "runner",
    "gcpRoles",
    "awsManagedPolicyArns",
    "awsPermissionsBoundary",
)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


# The same rule as the component's, spelt as the stack config spells its keys.
_COMPANIONS = {token: tuple(_camel(field) for field in fields) for token, fields in TOKEN_COMPANIONS.items()}


def _workload(index: int, raw: object, identity_cloud: str | None, problems: _Problems) -> WorkloadConfig | None:
    section = _Section(f"{NAMESPACE}:workloads[{index}]", raw, _WORKLOAD_KEYS, problems)
    namespace = section.get("namespace", check_dns1123_label)
    service_account = section.get("serviceAccount", check_dns1123_label)
    token_type = section.get("tokenType", _choice(TOKEN_TYPES))
    team_name = section.get("teamName", _string, None)
    user_login = section.get("userLogin", _string, None)
    runner_id = section.get("runnerId", _string, None)
    role_id = section.get("roleId", _string, None)
    permissions = section.get(
        "authorizedPermissions", _string_list(_choice(PERMISSION_LEVELS), allow_empty=False), None
    )
    companions = {
        "teamName": team_name,
        "userLogin": user_login,
        "runnerId": runner_id,
        "roleId": role_id,
        "authorizedPermissions": permissions,
    }
    runs_login_job = section.get("runner", _bool, False)
    gcp_roles = section.get("gcpRoles", _string_list(_project_role), ())
    policy_arns = section.get("awsManagedPolicyArns", _string_list(_policy_arn), ())
    boundary = section.get("awsPermissionsBoundary", _policy_arn, None)

    if token_type is not None:
        accepted = _COMPANIONS[token_type]
        given = [key for key, value in companions.items() if value is not None]
        stray = [key for key in given if key not in accepted]
        present = [key for key in given if key in accepted]
        if stray:
            problems.items.append(
                f"{section.path}: {', '.join(stray)} does not apply to tokenType {token_type!r}; "
                f"that token type takes {' or '.join(accepted)}"
            )
        elif len(present) != 1:
            needs = "exactly one of " + " or ".join(accepted) if len(accepted) > 1 else accepted[0]
            problems.items.append(
                f"{section.path}: tokenType {token_type!r} needs {needs}; got {', '.join(present) or 'none'}"
            )
        if runs_login_job and token_type not in LOGIN_TOKEN_TYPES:
            problems.items.append(
                f"{section.key('runner')}: true is not accepted with tokenType {token_type!r}; the login Job "
                f"requests {', '.join(LOGIN_TOKEN_TYPES)} tokens (runner tokens are for deployment agents)"
            )
    cloud_fields = {
        "gcpRoles": ("gke", gcp_roles),
        "awsManagedPolicyArns": ("eks", policy_arns),
        "awsPermissionsBoundary": ("eks", boundary),
    }
    for key, (cloud, value) in cloud_fields.items():
        if value and identity_cloud is not None and identity_cloud != cloud:
            problems.items.append(
                f"{section.key(key)}: applies to workloads whose cloud identity is on {cloud}; "
                f"this stack's is {identity_cloud!r}"
            )
    if None in (namespace, service_account, token_type):
        return None
    return WorkloadConfig(
        namespace=cast(str, namespace),
        service_account=cast(str, service_account),
        token_type=cast(str, token_type),
        team_name=team_name,
        user_login=user_login,
        runner_id=runner_id,
        role_id=role_id,
        authorized_permissions=permissions,
        runs_login_job=bool(runs_login_job),
        gcp_roles=gcp_roles or (),
        aws_managed_policy_arns=policy_arns or (),
        aws_permissions_boundary=boundary,
    )


def _workloads(raw: object, identity_cloud: str | None, problems: _Problems) -> tuple[WorkloadConfig, ...]:
    key = f"{NAMESPACE}:workloads"
    if raw is None:
        problems.items.append(
            f"{key}: missing; expected a list of workloads, each with namespace, serviceAccount and tokenType"
        )
        return ()
    if not isinstance(raw, list) or not raw:
        problems.items.append(f"{key}: {raw!r} is not accepted; expected a non-empty list of workloads")
        return ()
    workloads = [_workload(index, item, identity_cloud, problems) for index, item in enumerate(raw)]
    seen: dict[tuple[str, str], int] = {}
    for index, workload in enumerate(workloads):
        if workload is None:
            continue
        pair = (workload.namespace, workload.service_account)
        if pair in seen:
            problems.items.append(
                f"{key}[{index}]: namespace/serviceAccount {pair[0]}/{pair[1]} repeats {key}[{seen[pair]}]; "
                "expected each service account once"
            )
        seen.setdefault(pair, index)
    login = [index for index, w in enumerate(workloads) if w is not None and w.runs_login_job]
    if len(login) > 1:
        problems.items.append(f"{key}: runner: true is set on workloads {login}; expected it on at most one workload")
    return tuple(w for w in workloads if w is not None)


def _gke(raw: object, gcp_project: str | None, problems: _Problems) -> GkeConfig | None:
    from components.gke_cluster import RELEASE_CHANNELS, check_gke_cluster_args

    section = _Section(
        f"{NAMESPACE}:gke",
        raw,
        ("project", "location", "clusterName", "nodeCount", "machineType", "releaseChannel", "deletionProtection"),
        problems,
    )
    project = section.get("project", _string, gcp_project)
    if project is None:
        problems.items.append(f"{section.key('project')}: missing; set it, or gcp:project")
    values = {
        "location": section.get("location", _string),
        "cluster_name": section.get("clusterName", _string),
        "node_count": section.get("nodeCount", _int(1, 100), 1),
        "machine_type": section.get("machineType", _string, "e2-standard-2"),
        "release_channel": section.get("releaseChannel", _choice(RELEASE_CHANNELS), "REGULAR"),
        "deletion_protection": section.get("deletionProtection", _bool, True),
    }
    if project is None or None in values.values():
        return None
    config = GkeConfig(project=project, **values)  # type: ignore[arg-type]
    problems.check(
        lambda: check_gke_cluster_args(
            {"project": config.project, "location": config.location, "cluster_name": config.cluster_name}
        )
    )
    return config


def _eks(raw: object, aws_region: str | None, problems: _Problems) -> EksConfig | None:
    from components.eks_cluster import check_eks_cluster_args
    from components.eks_oidc_provider import check_thumbprints

    section = _Section(
        f"{NAMESPACE}:eks",
        raw,
        (
            "clusterName",
            "kubernetesVersion",
            "subnetIds",
            "instanceTypes",
            "desiredSize",
            "minSize",
            "maxSize",
            "deletionProtection",
            "oidcProviderArn",
            "oidcThumbprints",
        ),
        problems,
    )
    if not aws_region:
        problems.items.append(
            "aws:region: missing; the EKS cluster's region is set with `pulumi config set aws:region …`"
        )
    values = {
        "cluster_name": section.get("clusterName", _string),
        "kubernetes_version": section.get("kubernetesVersion", _string),
        "subnet_ids": section.get("subnetIds", _string_list(_string, allow_empty=False), None),
        "instance_types": section.get("instanceTypes", _string_list(_string, allow_empty=False), ("t3.medium",)),
        "desired_size": section.get("desiredSize", _int(0, 450), 2),
        "min_size": section.get("minSize", _int(0, 450), 1),
        "max_size": section.get("maxSize", _int(1, 450), 3),
        "deletion_protection": section.get("deletionProtection", _bool, True),
        "oidc_provider_arn": section.get("oidcProviderArn", _provider_arn, None),
        "oidc_thumbprints": section.get("oidcThumbprints", lambda k, v: tuple(check_thumbprints(k, v)), None),
    }
    required = ("cluster_name", "kubernetes_version", "instance_types", "desired_size", "min_size", "max_size")
    if not aws_region or any(values[key] is None for key in required):
        return None
    config = EksConfig(region=aws_region, **values)  # type: ignore[arg-type]
    problems.check(
        lambda: check_eks_cluster_args(
            {
                "cluster_name": config.cluster_name,
                "kubernetes_version": config.kubernetes_version,
                "instance_types": list(config.instance_types),
                "desired_size": config.desired_size,
                "min_size": config.min_size,
                "max_size": config.max_size,
            }
        )
    )
    return config


def _existing(
    raw: object, kubeconfig: str | None, gcp_project: str | None, aws_region: str | None, problems: _Problems
) -> ExistingConfig | None:
    section = _Section(
        f"{NAMESPACE}:existing",
        raw,
        ("identityCloud", "issuerUrl", "context", "lookup", "oidcProviderArn"),
        problems,
    )
    identity_cloud = section.get("identityCloud", _choice(IDENTITY_CLOUDS))
    issuer_url = section.get("issuerUrl", check_issuer_url, None)
    context = section.get("context", _string, None)
    provider_arn = section.get("oidcProviderArn", _provider_arn, None)
    lookup = _Section(section.key("lookup"), section.raw.get("lookup"), ("clusterName", "location"), problems)
    lookup_name = lookup.get("clusterName", _string, None)
    lookup_location = lookup.get("location", _string, None)
    has_lookup = lookup_name is not None
    if identity_cloud is None:
        return None
    if has_lookup and identity_cloud == "none":
        problems.items.append(
            f"{lookup.path}: a lookup needs identityCloud gke or eks, to know where to look; got 'none'"
        )
    if has_lookup and identity_cloud == "gke" and lookup_location is None:
        problems.items.append(f"{lookup.key('location')}: missing; a GKE lookup needs the cluster's region or zone")
    if not has_lookup and issuer_url is None:
        problems.items.append(
            f"{section.key('issuerUrl')}: missing; expected the cluster's OIDC issuer URL, or "
            f"{lookup.path}.clusterName to look it up"
        )
    if not has_lookup and kubeconfig is None:
        problems.items.append(
            f"{NAMESPACE}:kubeconfig: missing; set it with `pulumi config set --secret {NAMESPACE}:kubeconfig "
            f"< kubeconfig.yaml`, or give {lookup.path}.clusterName to build one"
        )
    if identity_cloud == "gke" and not gcp_project:
        problems.items.append("gcp:project: missing; Workload Identity on an existing GKE cluster needs the project")
    if identity_cloud == "eks" and has_lookup and not aws_region:
        problems.items.append("aws:region: missing; an EKS lookup needs the cluster's region")
    if identity_cloud != "eks" and provider_arn is not None:
        problems.items.append(f"{section.key('oidcProviderArn')}: applies to identityCloud 'eks' only")
    return ExistingConfig(
        identity_cloud=identity_cloud,
        issuer_url=issuer_url,
        kubeconfig=kubeconfig,
        context=context,
        lookup_cluster_name=lookup_name,
        lookup_location=lookup_location,
        gcp_project=gcp_project,
        aws_region=aws_region,
        oidc_provider_arn=provider_arn,
    )


def _runner(raw: object, problems: _Problems) -> RunnerConfig:
    section = _Section(
        f"{NAMESPACE}:runner",
        raw,
        (
            "image",
            "tokenExpirationSeconds",
            "exchangedTokenLifetime",
            "activeDeadlineSeconds",
            "awaitTimeoutSeconds",
            "backendUrl",
        ),
        problems,
    )

    def lifetime(key: str, value: Any) -> str:
        duration_seconds(key, value)
        return str(value)

    def https_url(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.startswith("https://") or value.endswith("/"):
            raise InvalidArgumentError(
                f"{key}: {value!r} is not accepted; expected an https:// URL without a trailing slash"
            )
        return value

    defaults = RunnerConfig()
    values = {
        "image": section.get("image", check_pinned_image, defaults.image),
        "token_expiration_seconds": section.get(
            "tokenExpirationSeconds", _int(MIN_PROJECTED_TOKEN_SECONDS, 86400), defaults.token_expiration_seconds
        ),
        "exchanged_token_lifetime": section.get("exchangedTokenLifetime", lifetime, defaults.exchanged_token_lifetime),
        "active_deadline_seconds": section.get(
            "activeDeadlineSeconds", _int(30, 3600), defaults.active_deadline_seconds
        ),
        "await_timeout_seconds": section.get("awaitTimeoutSeconds", _int(60, 7200), defaults.await_timeout_seconds),
        "backend_url": section.get("backendUrl", https_url, defaults.backend_url),
    }
    return RunnerConfig(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


def _issuer(raw: object, default_name: str, problems: _Problems) -> IssuerConfig:
    section = _Section(f"{NAMESPACE}:issuer", raw, ("name", "maxExpirationSeconds", "pinAudience"), problems)
    values = {
        "name": section.get("name", _string, default_name),
        "max_expiration_seconds": section.get(
            "maxExpirationSeconds", _int(300, MAX_EXPIRATION_LIMIT_SECONDS), DEFAULT_MAX_EXPIRATION_SECONDS
        ),
        "pin_audience": section.get("pinAudience", _bool, False),
    }
    return IssuerConfig(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


TOP_LEVEL_KEYS = (
    "cloud",
    "organization",
    "podSecurityLevel",
    "createNamespaces",
    "gke",
    "eks",
    "existing",
    "kubeconfig",
    "workloads",
    "runner",
    "issuer",
)


def load_stack_config(
    values: Mapping[str, Any], *, project: str = "keyless", stack: str = "dev", secret_keys: Sequence[str] = ()
) -> StackConfig:
    """Validate the raw config map (``namespace:key`` → value) into a :class:`StackConfig`."""
    problems = _Problems()
    prefix = f"{NAMESPACE}:"
    raw = {
        key[len(prefix) :]: _parse_json_value(key, value, problems)
        for key, value in values.items()
        if key.startswith(prefix)
    }
    top = _Section(prefix, raw, TOP_LEVEL_KEYS, problems)
    cloud = top.get("cloud", _choice(CLOUDS))
    organization = top.get("organization", _string)
    pod_security_level = top.get("podSecurityLevel", _choice(POD_SECURITY_LEVELS), "restricted")
    create_namespaces = top.get("createNamespaces", _bool, True)
    gcp_project = values.get("gcp:project")
    aws_region = values.get("aws:region")

    kubeconfig = raw.get("kubeconfig")
    if kubeconfig is not None and f"{prefix}kubeconfig" not in secret_keys:
        problems.items.append(
            f"{prefix}kubeconfig: is stored in plain text; expected a secret: "
            f"`pulumi config set --secret {prefix}kubeconfig < kubeconfig.yaml`"
        )
    if kubeconfig is not None and cloud != "existing":
        problems.items.append(f"{prefix}kubeconfig: applies to cloud 'existing' only; this stack's cloud is {cloud!r}")

    gke = eks = existing = None
    for name in CLOUDS:
        if name != cloud and raw.get(name) is not None:
            problems.items.append(f"{prefix}{name}: is set, but {prefix}cloud is {cloud!r}; remove it or switch cloud")
    if cloud == "gke":
        gke = _gke(raw.get("gke"), gcp_project, problems)
    elif cloud == "eks":
        eks = _eks(raw.get("eks"), aws_region, problems)
    elif cloud == "existing":
        existing = _existing(
            raw.get("existing"), kubeconfig if isinstance(kubeconfig, str) else None, gcp_project, aws_region, problems
        )
    identity_cloud = existing.identity_cloud if existing is not None else cloud

    workloads = _workloads(raw.get("workloads"), identity_cloud, problems)
    runner = _runner(raw.get("runner"), problems)
    issuer = _issuer(raw.get("issuer"), f"{project}-{stack}", problems)
    lifetime = problems.check(
        lambda: duration_seconds(f"{prefix}runner.exchangedTokenLifetime", runner.exchanged_token_lifetime)
    )
    if lifetime is not None and lifetime > issuer.max_expiration_seconds:
        problems.items.append(
            f"{prefix}runner.exchangedTokenLifetime: {runner.exchanged_token_lifetime!r} ({lifetime}s) exceeds "
            f"{prefix}issuer.maxExpirationSeconds ({issuer.max_expiration_seconds}); expected at most that"
        )

    if problems.items:
        # A message quotes the bad value; a secret one is never echoed back.
        secrets = [str(values[key]) for key in secret_keys if key in values and str(values[key])]
        for secret in secrets:
            problems.items = [problem.replace(secret, "[secret]") for problem in problems.items]
        raise ConfigError(problems.items)
    return StackConfig(
        cloud=cast(Cloud, cloud),
        organization=cast(str, organization),
        workloads=workloads,
        runner=runner,
        issuer=issuer,
        pod_security_level=cast(str, pod_security_level),
        create_namespaces=bool(create_namespaces),
        gke=gke,
        eks=eks,
        existing=existing,
    )


__all__ = [
    "ConfigError",
    "EksConfig",
    "ExistingConfig",
    "GkeConfig",
    "IssuerConfig",
    "RunnerConfig",
    "StackConfig",
    "WorkloadConfig",
    "load_stack_config",
]
