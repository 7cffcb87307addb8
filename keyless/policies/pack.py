"""Every guardrail: its name, the fix its description gives, its enforcement level, and its check.

A resource check takes ``(resource_type, props, config)`` with wire-form props (camelCase, unknowns
as :data:`~keyless.core.problems.UNKNOWN`) and returns violation messages; a stack check takes every
resource at once. The rules come from :mod:`keyless.core`; nothing here states a rule again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keyless.core import aws, azure, gcp, issuers, tenancy
from keyless.core.exchange import empty_rules, pinned_account, unquoted_nested_paths
from keyless.core.login_job import runs_oidc_login, script_token_leaks
from keyless.core.problems import UNKNOWN
from keyless.core.pulumi_cloud import (
    DEFAULT_MAX_EXPIRATION_SECONDS,
    NAMESPACE_CLAIM,
    SERVICE_ACCOUNT_CLAIM,
    STATIC_TOKEN_VARIABLES,
    SUBJECT_CLAIM,
    issuer_url,
    looks_like_pulumi_token,
    pins_subject,
)
from keyless.core.runner import agent_login_problems
from keyless.core.values import pinned_image
from keyless.policies.props import at, contains_unknown, json_document, plain

MANDATORY, ADVISORY = "mandatory", "advisory"
ISSUER = "pulumiservice:index:OidcIssuer"
ROLE = "aws:iam/role:Role"
NODE_POOL = "gcp:container/nodePool:NodePool"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
SA_IAM = ("gcp:serviceaccount/iAMMember:IAMMember", "gcp:serviceaccount/iAMBinding:IAMBinding")
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
POD_SPEC_PATHS = {
    "kubernetes:core/v1:Pod": "spec",
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
}
PULUMI_AUDIENCE_PREFIX = "urn:pulumi:org:"
ESC_STORES_POLICY_TYPES = tuple(
    f"kubernetes:external-secrets.io/{version}:{kind}"
    for version in ("v1", "v1beta1")
    for kind in ("SecretStore", "ClusterSecretStore")
)

Check = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    """What the policy asks for and how to fix a violation."""
    resource_types: tuple[str, ...]
    check: Check
    enforcement: str = MANDATORY
    config: Mapping[str, Any] = field(default_factory=dict)
    """Configurable values and their defaults (pulumi policy config)."""


@dataclass(frozen=True)
class Resource:
    """One resource of a stack, as a stack policy sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    parent_type: str = ""


StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], list[tuple[str, str]]]
"""Returns ``(resource name, message)`` pairs."""


@dataclass(frozen=True)
class StackPolicy:
    name: str
    description: str
    check: StackCheck
    enforcement: str = MANDATORY
    config: Mapping[str, Any] = field(default_factory=dict)


# --- issuers -------------------------------------------------------------------------------------


def _issuer_policies(props: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    policies = props.get("policies")
    if not isinstance(policies, list):
        return []
    return [(index, policy) for index, policy in enumerate(policies) if isinstance(policy, Mapping)]


def _allow(policy: Mapping[str, Any]) -> bool:
    return policy.get("decision", "allow") == "allow"


def _pin_subject(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    found = []
    for index, policy in _issuer_policies(props):
        rules = policy.get("rules")
        if not _allow(policy) or contains_unknown(rules):
            continue
        found += [str(problem) for problem in empty_rules(f"policies[{index}]", policy)]
        if rules and not pins_subject(rules):
            found.append(
                f"policies[{index}] admits more than one service account: it pins neither {SUBJECT_CLAIM} exactly "
                f"nor both {NAMESPACE_CLAIM} and {SERVICE_ACCOUNT_CLAIM}"
            )
    return found


def _quoted_paths(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    found = []
    for index, policy in _issuer_policies(props):
        rules = policy.get("rules")
        if isinstance(rules, Mapping):
            for path in unquoted_nested_paths(rules):
                found.append(f"policies[{index}] rule {path!r} is not quoted, so it never matches a nested claim")
    return found


def _issuer_url(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    url = props.get("url")
    return [] if url is UNKNOWN or url is None else [str(p) for p in issuer_url("url", url)]


def _issuer_shape(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    url = props.get("url")
    return [f"url {url!r} {reason}" for reason in issuers.shape_reasons(url)]


def _thumbprints(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    thumbprints = props.get("thumbprints")
    if isinstance(thumbprints, list) and thumbprints:
        return ["thumbprints are pinned: a certificate rotation then breaks every exchange (HTTP 400)"]
    return []


def _max_lifetime(_: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    cap = int(config.get("maxSeconds", DEFAULT_MAX_EXPIRATION_SECONDS))
    value = props.get("maxExpirationSeconds")
    if value is UNKNOWN:
        return []
    if value is None:
        return [f"maxExpirationSeconds is unset, so exchanged tokens may live 25 hours; expected at most {cap}"]
    if isinstance(value, (int, float)) and value > cap:
        return [f"maxExpirationSeconds is {int(value)}; expected at most {cap}"]
    return []


def _shared_account(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    found = []
    for index, policy in _issuer_policies(props):
        account = pinned_account(policy.get("rules") or {}) if _allow(policy) else None
        if account is None:
            continue
        namespace, name = account
        problems = [
            *tenancy.not_default(f"policies[{index}] service account", name),
            *tenancy.not_reserved(f"policies[{index}] namespace", namespace, tenancy.SYSTEM_NAMESPACES),
        ]
        found += [f"{problem.key} {problem.value!r} {problem.reason}" for problem in problems]
    return found


def _organization_role(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    found = []
    for index, policy in _issuer_policies(props):
        if policy.get("tokenType") != "organization" or not _allow(policy):
            continue
        if policy.get("roleID") is None and policy.get("roleId") is None:
            found.append(
                f"policies[{index}] grants an organization token with the legacy authorizedPermissions "
                f"{policy.get('authorizedPermissions')!r} instead of a role"
            )
    return found


# --- AWS -----------------------------------------------------------------------------------------


def _trust(props: Mapping[str, Any]) -> Any:
    return json_document(props.get("assumeRolePolicy"))


def _irsa_trust(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    document = _trust(props)
    return [] if document is UNKNOWN or contains_unknown(document) else aws.irsa_trust_problems(document)


def _trust_size(_: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    document = _trust(props)
    if document is UNKNOWN or document is None or contains_unknown(document):
        return []
    limit = int(config.get("maxCharacters", aws.DEFAULT_TRUST_POLICY_LIMIT))
    return [p.reason for p in aws.trust_policy_size("assumeRolePolicy", aws.policy_json(document), limit, 1)]


def _pod_identity_actions(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    document = _trust(props)
    return [] if document is UNKNOWN or contains_unknown(document) else aws.pod_identity_action_problems(document)


def _pod_identity_scope(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    document = _trust(props)
    return [] if document is UNKNOWN or contains_unknown(document) else aws.pod_identity_scope_problems(document)


# --- Google Cloud --------------------------------------------------------------------------------


def _one_service_account(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    if props.get("role") != gcp.WORKLOAD_IDENTITY_USER:
        return []
    members = props.get("members") if "members" in props else [props.get("member")]
    return [problem for member in members or [] for problem in gcp.workload_identity_member_problems(member)]


def _gke_metadata(resources: Sequence[Resource], _: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not any(at(r.props, "workloadIdentityConfig.workloadPool") for r in resources if r.type == GKE_CLUSTER):
        return []
    found = []
    for pool in (r for r in resources if r.type == NODE_POOL):
        mode = at(pool.props, "nodeConfig.workloadMetadataConfig.mode")
        if mode is not UNKNOWN and mode != "GKE_METADATA":
            found.append(
                (pool.name, f"workloadMetadataConfig.mode is {mode!r}: its pods act as the node's service account")
            )
    return found


# --- Kubernetes ----------------------------------------------------------------------------------


def _static_tokens(resource_type: str, props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    found = []
    if resource_type in ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap"):
        for block in ("data", "stringData"):
            entries = props.get(block)
            if not isinstance(entries, Mapping):
                continue
            for key, value in entries.items():
                text = _decoded(value) if block == "data" and resource_type.endswith("Secret") else value
                if key in STATIC_TOKEN_VARIABLES or looks_like_pulumi_token(text):
                    found.append(f"{block}.{key} holds a stored Pulumi token")
    spec = pod_spec(resource_type, props)
    for container in containers(spec):
        for variable in container.get("env") or []:
            if not isinstance(variable, Mapping):
                continue
            name, value = variable.get("name"), variable.get("value")
            if name in STATIC_TOKEN_VARIABLES or looks_like_pulumi_token(value):
                found.append(f"container {container.get('name')!r} gets a stored Pulumi token in {name}")
    return found


def _decoded(value: Any) -> Any:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec inside a workload resource's inputs (empty for other types)."""
    path = POD_SPEC_PATHS.get(resource_type)
    spec = at(props, path) if path else None
    return spec if isinstance(spec, Mapping) else {}


def containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A pod spec's init containers and containers."""
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    return [c for c in containers if isinstance(c, Mapping)]


def _script_leaks(resource_type: str, props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    found = []
    if resource_type == "kubernetes:core/v1:ConfigMap" and isinstance(props.get("data"), Mapping):
        for key, text in props["data"].items():
            if isinstance(text, str):
                found += [f"data.{key} {leak}" for leak in script_token_leaks(text)]
    for container in containers(pod_spec(resource_type, props)):
        words = [w for w in [*(container.get("command") or []), *(container.get("args") or [])] if isinstance(w, str)]
        found += [f"container {container.get('name')!r} {leak}" for leak in script_token_leaks(" ".join(words))]
    return found


def _pulumi_token_volumes(spec: Mapping[str, Any]) -> list[str]:
    names = []
    for volume in spec.get("volumes") or []:
        sources = at(volume, "projected.sources") if isinstance(volume, Mapping) else None
        for source in sources if isinstance(sources, list) else []:
            audience = at(source, "serviceAccountToken.audience")
            if isinstance(audience, str) and audience.startswith(PULUMI_AUDIENCE_PREFIX):
                names.append(str(volume.get("name")))
    return names


def _whole_number(value: Any) -> bool:
    """A whole number as a served pack receives one: every number crosses the wire as a double."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()


def _login_pod(resource_type: str, props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    volumes = _pulumi_token_volumes(spec)
    return _hardening(spec, volumes) if volumes else []


def _hardening(spec: Mapping[str, Any], token_volumes: Sequence[str]) -> list[str]:
    """What keeps a pod that logs in to Pulumi Cloud from being the weak link."""
    found = []
    pod_context: Mapping[str, Any] = spec["securityContext"] if isinstance(spec.get("securityContext"), Mapping) else {}
    for container in containers(spec):
        name = container.get("name")
        image = container.get("image")
        if image is not UNKNOWN:
            found += [f"container {name!r}: image {image!r} {p.reason}" for p in pinned_image("image", image)]
        context = {**pod_context, **(container.get("securityContext") or {})}
        user = context.get("runAsUser")
        if user is not UNKNOWN and (not _whole_number(user) or user == 0 or context.get("runAsNonRoot") is not True):
            found.append(f"container {name!r} does not run as a non-root numeric UID (runAsNonRoot and runAsUser > 0)")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"container {name!r} allows privilege escalation")
        drop = at(context, "capabilities.drop") or []
        if drop is not UNKNOWN and "ALL" not in drop:
            found.append(f"container {name!r} does not drop all capabilities")
        for mount in container.get("volumeMounts") or []:
            if isinstance(mount, Mapping) and mount.get("name") in token_volumes and mount.get("subPath"):
                found.append(f"container {name!r} mounts the projected token with subPath, which is never refreshed")
    return found


# --- External Secrets stores for Pulumi ESC ----------------------------------------------------


def _esc_provider(props: Mapping[str, Any]) -> Any:
    return at(props, "spec.provider.pulumi")


def _esc_access_token(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    provider = _esc_provider(props)
    if not isinstance(provider, Mapping):
        return []
    if provider.get("accessToken") is not None or at(provider, "auth.accessToken") is not None:
        return ["the Pulumi provider authenticates with a stored access token: use auth.oidcConfig instead"]
    return []


def _esc_audience(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    oidc = at(_esc_provider(props) or {}, "auth.oidcConfig")
    if not isinstance(oidc, Mapping):
        return []
    organization, audiences = oidc.get("organization"), at(oidc, "serviceAccountRef.audiences")
    if UNKNOWN in (organization, audiences) or contains_unknown(audiences):
        return []
    expected = f"{PULUMI_AUDIENCE_PREFIX}{organization}"
    if isinstance(audiences, list) and expected in audiences:
        return []
    return [
        f"serviceAccountRef.audiences does not name {expected!r}: External Secrets then mints the token for the "
        "API's base URL"
    ]


_EVERYTHING = {"", ".*", "^.*$", "^.*", ".*$", ".+", "^.+$"}


def _esc_cluster_store_confined(resource_type: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    if not resource_type.endswith(":ClusterSecretStore") or _esc_provider(props) is None:
        return []
    conditions = at(props, "spec.conditions")
    if conditions is UNKNOWN or contains_unknown(conditions):
        return []
    if not isinstance(conditions, list) or not conditions:
        return ["has no spec.conditions: every namespace's ExternalSecrets may read the ESC environment"]
    found = []
    for index, condition in enumerate(conditions):
        regexes = condition.get("namespaceRegexes") if isinstance(condition, Mapping) else None
        if isinstance(regexes, list) and any(regex in _EVERYTHING for regex in regexes):
            found.append(f"spec.conditions[{index}].namespaceRegexes matches every namespace")
    return found


# --- Pulumi Kubernetes Operator stacks -----------------------------------------------------------

OPERATOR_STACKS = ("kubernetes:pulumi.com/v1:Stack",)


def _operator_token(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    spec = props.get("spec")
    if not isinstance(spec, Mapping):
        return []
    found = []
    if spec.get("accessTokenSecret") is not None:
        found.append("accessTokenSecret hands the workspace a stored Pulumi token (as PULUMI_ACCESS_TOKEN)")
    refs = spec.get("envRefs")
    for name in STATIC_TOKEN_VARIABLES:
        if isinstance(refs, Mapping) and name in refs:
            found.append(f"envRefs.{name} hands the workspace a stored Pulumi token")
    workspace = at(spec, "workspaceTemplate.spec")
    workspace = workspace if isinstance(workspace, Mapping) else {}
    pod = at(workspace, "podTemplate.spec")
    candidates = [
        {"name": "workspace", "env": workspace.get("env")},
        *containers(pod if isinstance(pod, Mapping) else {}),
    ]
    for container in candidates:
        for variable in container.get("env") or []:
            if isinstance(variable, Mapping) and variable.get("name") in STATIC_TOKEN_VARIABLES:
                found.append(f"{container.get('name')!r} gets {variable.get('name')}: a stored Pulumi token")
    return found


# --- Azure ----------------------------------------------------------------------------------------

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


def _subscription_wide(_: str, props: Mapping[str, Any], __: Mapping[str, Any]) -> list[str]:
    broad = azure.broad_grant(props.get("roleDefinitionId"), props.get("scope"))
    return [f"grants {broad}: scope it to a resource group or a resource, with the least role"] if broad else []


def _over_identities(resources: Sequence[Resource], _: Mapping[str, Any]) -> list[tuple[str, str]]:
    groups = [
        str(r.props["resourceGroupName"])
        for r in resources
        if r.type == USER_ASSIGNED_IDENTITY and isinstance(r.props.get("resourceGroupName"), str)
    ]
    found = []
    for assignment in (r for r in resources if r.type == ROLE_ASSIGNMENT):
        reason = azure.over_identities(assignment.props.get("roleDefinitionId"), assignment.props.get("scope"), groups)
        if reason is not None:
            found.append(
                (
                    assignment.name,
                    f"grants {reason}: it could federate any of them, or grant them roles; scope it lower",
                )
            )
    return found


# --- customer-managed workflow runners ------------------------------------------------------------


def _runner_token(resource_type: str, props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    volumes = _pulumi_token_volumes(spec)
    found = []
    for container in containers(spec):
        env = {
            str(variable.get("name")): variable.get("value")
            for variable in container.get("env") or []
            if isinstance(variable, Mapping)
        }
        folders = [
            str(mount.get("mountPath"))
            for mount in container.get("volumeMounts") or []
            if isinstance(mount, Mapping) and mount.get("name") in volumes and not mount.get("subPath")
        ]
        found += [f"container {container.get('name')!r} {problem}" for problem in agent_login_problems(env, folders)]
    return found


# --- the stack as a whole ------------------------------------------------------------------------


def _declared_accounts(resources: Sequence[Resource]) -> dict[tuple[str, str], Resource]:
    accounts = {}
    for resource in resources:
        if resource.type == SERVICE_ACCOUNT:
            namespace, name = at(resource.props, "metadata.namespace"), at(resource.props, "metadata.name")
            if isinstance(namespace, str) and isinstance(name, str):
                accounts[(namespace, name)] = resource
    return accounts


def _login_script_pods(resources: Sequence[Resource], _: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Pods that run a ``pulumi login --oidc-token`` script from a ConfigMap of the stack (as the
    published samples do, exchanging another token than a urn:pulumi:org one) are login pods too."""
    scripts = set()
    for resource in resources:
        data = resource.props.get("data") if resource.type == "kubernetes:core/v1:ConfigMap" else None
        name = at(resource.props, "metadata.name")
        scripted = isinstance(data, Mapping) and any(isinstance(t, str) and runs_oidc_login(t) for t in data.values())
        if scripted and isinstance(name, str):
            scripts.add(name)
    found = []
    for resource in resources:
        spec = pod_spec(resource.type, resource.props)
        if not spec or _pulumi_token_volumes(spec):  # those are judged by login-pod-hardened
            continue
        mounted = {at(v, "configMap.name") for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
        if mounted & scripts:
            found += [(resource.name, finding) for finding in _hardening(spec, ())]
    return found


def _trust_matches_workloads(resources: Sequence[Resource], _: Mapping[str, Any]) -> list[tuple[str, str]]:
    accounts = _declared_accounts(resources)
    trusted: set[tuple[str, str]] = set()
    found = []
    for issuer in (r for r in resources if r.type == ISSUER):
        for index, policy in _issuer_policies(issuer.props):
            rules = policy.get("rules")
            if not _allow(policy) or not isinstance(rules, Mapping) or contains_unknown(rules):
                continue
            account = pinned_account(rules)
            if account is None:
                continue
            trusted.add(account)
            if account not in accounts:
                found.append(
                    (
                        issuer.name,
                        f"policies[{index}] trusts {account[0]}/{account[1]}, a service account this stack does not declare",
                    )
                )
    for (namespace, name), declared in accounts.items():
        if (
            declared.parent_type == "keyless:index:WorkloadServiceAccount"
            and trusted
            and (namespace, name) not in trusted
        ):
            found.append((declared.name, f"workload {namespace}/{name} has no policy on the stack's issuer"))
    return found


POLICIES: tuple[Policy, ...] = (
    Policy(
        "issuer-policy-pins-the-subject",
        "Each allow policy on an OIDC issuer admits one Kubernetes service account: pin 'sub' exactly "
        "(system:serviceaccount:NS:SA), or both '\"kubernetes.io\".namespace' and "
        "'\"kubernetes.io\".serviceaccount.name'. An allow policy with no rules admits every token.",
        (ISSUER,),
        _pin_subject,
    ),
    Policy(
        "issuer-claim-paths-quoted",
        "Nested claim paths quote their dotted segment ('\"kubernetes.io\".namespace'); unquoted, "
        "'kubernetes.io.namespace' never matches and the policy silently admits nobody.",
        (ISSUER,),
        _quoted_paths,
    ),
    Policy(
        "issuer-url-is-an-issuer",
        "The issuer URL is the tokens' 'iss' byte for byte: https, with no query, fragment or white space "
        "(a trailing '/' is kept: AKS issuers have one).",
        (ISSUER,),
        _issuer_url,
    ),
    Policy(
        "issuer-url-is-its-clusters-iss",
        "Register a GKE, EKS or AKS issuer exactly as its tokens' 'iss' reads: no trailing '/' on GKE and EKS, "
        "always one on AKS, 'locations/' (never 'zones/') on GKE. Advisory: whether Pulumi Cloud forgives a "
        "difference is not documented (its GKE guide shows a trailing '/').",
        (ISSUER,),
        _issuer_shape,
        ADVISORY,
    ),
    Policy(
        "issuer-thumbprints-unpinned",
        "Leave thumbprints unset: Pulumi Cloud computes them, and a pinned one breaks every exchange when "
        "the issuer's certificate rotates.",
        (ISSUER,),
        _thumbprints,
        ADVISORY,
    ),
    Policy(
        "issuer-token-lifetime-capped",
        "Set maxExpirationSeconds at or below the cap (config maxSeconds, default 7200): exchanged tokens "
        "should live hours, not a day.",
        (ISSUER,),
        _max_lifetime,
        config={"maxSeconds": DEFAULT_MAX_EXPIRATION_SECONDS},
    ),
    Policy(
        "issuer-trusts-no-shared-account",
        "No allow policy admits a namespace's 'default' account (every pod that names no account runs as it) "
        "or an account of a system namespace (kube-system, kube-public, kube-node-lease, default): give the "
        "workload an account and a namespace of its own.",
        (ISSUER,),
        _shared_account,
    ),
    Policy(
        "organization-token-names-a-role",
        "Give organization-token policies a role (roleId) with the least permissions the workload needs; "
        "authorizedPermissions is the legacy model.",
        (ISSUER,),
        _organization_role,
        ADVISORY,
    ),
    Policy(
        "irsa-trust-pins-audience-and-subject",
        "An IRSA trust policy (sts:AssumeRoleWithWebIdentity) pins '<issuer>:aud' to sts.amazonaws.com and "
        "'<issuer>:sub' to the service accounts, with StringEquals unless a value holds '*' or '?'.",
        (ROLE,),
        _irsa_trust,
    ),
    Policy(
        "iam-trust-policy-fits-the-quota",
        "A role's trust policy fits IAM's ACLSizePerRole quota (config maxCharacters, default 2048); split "
        "the service accounts over several roles, or use a namespace pattern.",
        (ROLE,),
        _trust_size,
        config={"maxCharacters": aws.DEFAULT_TRUST_POLICY_LIMIT},
    ),
    Policy(
        "pod-identity-trust-allows-both-actions",
        "An EKS Pod Identity trust policy allows both sts:AssumeRole and sts:TagSession for "
        "pods.eks.amazonaws.com: the service uses both.",
        (ROLE,),
        _pod_identity_actions,
    ),
    Policy(
        "pod-identity-trust-scoped",
        "Scope an EKS Pod Identity trust policy to a cluster with the session tag aws:RequestTag/eks-cluster-arn "
        "(ideally the namespace and service account too). Advisory: with session tags off no tag condition can "
        "hold, and the Pod Identity association alone scopes the role.",
        (ROLE,),
        _pod_identity_scope,
        ADVISORY,
    ),
    Policy(
        "workload-identity-user-names-one-service-account",
        "roles/iam.workloadIdentityUser is granted to one serviceAccount:<pool>[namespace/name], never to the "
        "whole pool (principalSet://…) or a wildcard.",
        SA_IAM,
        _one_service_account,
    ),
    Policy(
        "azure-role-not-subscription-wide",
        "An Azure identity holds no Owner, Contributor, User Access Administrator, Role Based Access Control "
        "Administrator, Key Vault Administrator or Azure Kubernetes Service RBAC Cluster Admin role on a whole "
        "subscription, and no role at a scope with a '.' or '..' segment: scope its roles to a resource group or "
        "a resource.",
        (ROLE_ASSIGNMENT,),
        _subscription_wide,
    ),
    Policy(
        "no-stored-pulumi-token",
        "No PULUMI_ACCESS_TOKEN, PULUMI_AGENT_TOKEN or 'pul-…' value in a Secret, ConfigMap or container env: "
        "let the pod exchange its projected service-account token instead (keyless login).",
        ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap", *POD_SPEC_PATHS),
        _static_tokens,
    ),
    Policy(
        "login-keeps-the-token-secret",
        "A login script or command never prints the service-account token nor passes it on the command line "
        "(where /proc/<pid>/cmdline shows it): give the CLI the file, --oidc-token file://PATH.",
        ("kubernetes:core/v1:ConfigMap", *POD_SPEC_PATHS),
        _script_leaks,
    ),
    Policy(
        "esc-store-holds-no-access-token",
        "An External Secrets store for Pulumi ESC authenticates as its own service account (auth.oidcConfig), "
        "never with a stored Pulumi access token (accessToken, auth.accessToken).",
        ESC_STORES_POLICY_TYPES,
        _esc_access_token,
    ),
    Policy(
        "esc-store-audience-is-pulumis",
        "An External Secrets store's oidcConfig names the audience urn:pulumi:org:<org> "
        "(serviceAccountRef.audiences); unset, External Secrets mints the token for the API URL. Advisory: whether "
        "Pulumi Cloud refuses another audience when no policy pins it is not documented.",
        ESC_STORES_POLICY_TYPES,
        _esc_audience,
        ADVISORY,
    ),
    Policy(
        "esc-cluster-store-names-its-namespaces",
        "A ClusterSecretStore for Pulumi ESC names the namespaces that may read it (spec.conditions: namespaces, "
        "a namespaceSelector or namespaceRegexes); without conditions, every namespace's ExternalSecrets read "
        "its environment as the store's account.",
        ESC_STORES_POLICY_TYPES,
        _esc_cluster_store_confined,
    ),
    Policy(
        "operator-stack-holds-no-access-token",
        "A Pulumi Kubernetes Operator Stack logs in with its workspace's own service account (the keyless "
        "sidecar in its podTemplate), never with accessTokenSecret or a PULUMI_ACCESS_TOKEN in envRefs or env.",
        OPERATOR_STACKS,
        _operator_token,
    ),
    Policy(
        "workflow-runner-exchanges-its-token",
        "A customer-managed workflow agent (a container with PULUMI_AGENT_* settings) exchanges its service "
        "account's projected token for a runner token: PULUMI_AGENT_OIDC_TOKEN_FILE in a projected token for "
        "urn:pulumi:org:<org>, PULUMI_AGENT_ORGANIZATION_NAME and PULUMI_AGENT_RUNNER_POOL_ID set, and no "
        "PULUMI_AGENT_TOKEN.",
        tuple(POD_SPEC_PATHS),
        _runner_token,
    ),
    Policy(
        "login-pod-hardened",
        "A pod that presents a token for urn:pulumi:org:… runs a pinned image (no 'latest'), as a non-root "
        "numeric UID, without privilege escalation, with all capabilities dropped, and mounts the projected "
        "token without subPath (subPath mounts are never refreshed).",
        tuple(POD_SPEC_PATHS),
        _login_pod,
    ),
)

STACK_POLICIES: tuple[StackPolicy, ...] = (
    StackPolicy(
        "login-script-pod-hardened",
        "A pod that runs a 'pulumi login --oidc-token' script from a ConfigMap is hardened like any login pod: "
        "a pinned image (no 'latest'), a non-root numeric UID, no privilege escalation, all capabilities dropped.",
        _login_script_pods,
    ),
    StackPolicy(
        "gke-node-pools-use-the-metadata-server",
        "In a stack with a Workload Identity cluster, every node pool sets workloadMetadataConfig.mode = "
        "GKE_METADATA; otherwise its pods silently act as the node's service account.",
        _gke_metadata,
    ),
    StackPolicy(
        "azure-role-not-over-the-stacks-identities",
        "No role assignment gives Owner, User Access Administrator or Managed Identity Contributor on the "
        "resource group that holds the stack's user-assigned identities: whoever holds it can add a federated "
        "credential to any of them (and so act as every workload) or grant them roles.",
        _over_identities,
    ),
    StackPolicy(
        "issuer-trust-matches-declared-workloads",
        "Every issuer allow policy names a service account this stack declares, and every workload the stack "
        "declares has a policy: no orphan trust.",
        _trust_matches_workloads,
    ),
)


def check_resource(
    policy: Policy, resource_type: str, props: Any, config: Mapping[str, Any] | None = None
) -> list[str]:
    """The policy's violations for one resource; props may be the policy server's raising proxy."""
    if resource_type not in policy.resource_types:
        return []
    return policy.check(resource_type, plain(props), {**policy.config, **(config or {})})


def check_stack(
    policy: StackPolicy, resources: Sequence[Resource], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str]]:
    known = [Resource(r.type, r.name, plain(r.props), r.parent_type) for r in resources]
    return policy.check(known, {**policy.config, **(config or {})})
