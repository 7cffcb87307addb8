"""AWS: the EKS cluster's shape, its IAM OIDC provider, and IRSA trust policies.

IRSA trust pins both ``<issuer-host>:aud`` (``sts.amazonaws.com``) and ``<issuer-host>:sub``;
``StringEquals`` compares ``*`` literally, so only subjects holding a wildcard use ``StringLike``.
The trust policy counts against IAM's ACLSizePerRole quota (2,048 characters by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from keyless.core.problems import MISSING, UNKNOWN, Problem
from keyless.core.pulumi_cloud import issuer_url, service_account_subject
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import boolean, dns1123_label, int_range, list_of, pattern

STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_TRUST_POLICY_LIMIT = 2048
"""IAM's default ACLSizePerRole quota, in characters of the policy without white space."""
DEFAULT_INSTANCE_TYPES = ("t3.medium",)
DEFAULT_DESIRED_SIZE = 2
DEFAULT_MIN_SIZE = 1
DEFAULT_MAX_SIZE = 3
MAX_NODE_GROUP_SIZE = 450
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
VPC_CNI_ADDON = "vpc-cni"
VPC_CNI_NETWORK_POLICY = '{"enableNetworkPolicy":"true"}'
"""The VPC CNI add-on's configuration that makes it enforce NetworkPolicy (off by default)."""
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")

# The longest provider ARN and issuer an EKS cluster can have, used to size the trust policy
# before the real values exist (at preview, the issuer is not known yet).
WORST_CASE_ISSUER_HOST = "oidc.eks.ap-southeast-4.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
WORST_CASE_PROVIDER_ARN = f"arn:aws-us-gov:iam::123456789012:oidc-provider/{WORST_CASE_ISSUER_HOST}"

_SERVICE_ACCOUNT_PATTERN = r"[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?"

policy_arn = pattern(
    r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+",
    "a managed policy ARN",
    "'arn:aws:iam::aws:policy/NAME' or 'arn:aws:iam::<account>:policy/NAME'",
)
oidc_provider_arn = pattern(
    r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+",
    "an IAM OIDC provider ARN",
    "'arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>'",
)
thumbprint = pattern(r"[0-9a-fA-F]{40}", "a SHA-1 thumbprint", "40 hexadecimal characters")
role_name = pattern(r"[\w+=,.@-]{1,64}", "an IAM role name", "1-64 of letters, digits and +=,.@_-")
cluster_name = pattern(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}",
    "an EKS cluster name",
    "1-100 letters, digits, '-' and '_', starting with a letter or digit",
)
kubernetes_version = pattern(r"\d+\.\d+", "a Kubernetes minor version", "MAJOR.MINOR such as '1.33'")
instance_type = pattern(r"[a-z0-9-]+\.[a-z0-9-]+", "an EC2 instance type", "family.size such as 't3.medium'")
_service_account_part = pattern(
    _SERVICE_ACCOUNT_PATTERN, "accepted", "a DNS-1123 label, optionally with '*' or '?' wildcards"
)


region = pattern(
    r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}", "an AWS region", "a region code such as 'us-west-2' or 'eu-central-1'"
)
subnet_id = pattern(r"subnet-([0-9a-f]{8}|[0-9a-f]{17})", "a subnet id", "'subnet-' and 8 or 17 hexadecimal digits")


cluster_arn = pattern(
    r"arn:aws[a-z-]*:eks:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9][A-Za-z0-9_-]{0,99}",
    "an EKS cluster ARN",
    "'arn:aws:eks:<region>:<account>:cluster/<name>'",
)


def uses_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def issuer_host(url: str) -> str:
    """The issuer without ``https://``: the prefix of IRSA condition keys and the provider ARN's tail."""
    return url.removeprefix("https://")


def provider_issuer_host(provider_arn: str) -> str:
    """The issuer an IAM OIDC provider ARN names: the part after ``oidc-provider/``.

    IRSA condition keys are derived from it, so a role's principal and its conditions always name
    the same issuer (as terraform-aws-modules' IRSA module does)."""
    return provider_arn.split(":oidc-provider/", 1)[1]


def same_issuer(provider_key: str, provider_arn: Any, issuer_key: str, issuer: Any) -> list[Problem]:
    """An OIDC provider ARN and an issuer URL given together must name the same issuer."""
    if not isinstance(provider_arn, str) or not isinstance(issuer, str) or ":oidc-provider/" not in provider_arn:
        return []
    if provider_issuer_host(provider_arn) == issuer_host(issuer):
        return []
    return [
        Problem(
            issuer_key,
            issuer,
            f"names another issuer than {provider_key} {provider_arn!r}",
            "the issuer of that OIDC provider, or no issuer_url: the trust policy's conditions are derived "
            "from the provider ARN",
        )
    ]


def irsa_trust_policy(
    provider_arn: str, host: str, subjects: Sequence[str], audience: str = STS_AUDIENCE
) -> dict[str, Any]:
    """Trust policy admitting ``subjects`` (``system:serviceaccount:NS:NAME``) with tokens for ``audience``."""
    subject_value: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    conditions: dict[str, dict[str, Any]] = {"StringEquals": {f"{host}:aud": audience}}
    if any(uses_wildcard(subject) for subject in subjects):
        conditions["StringLike"] = {f"{host}:sub": subject_value}
    else:
        conditions["StringEquals"][f"{host}:sub"] = subject_value
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def pod_identity_trust_policy(
    cluster_arn: str, namespace: str, service_account: str, session_tags: bool = True
) -> dict[str, Any]:
    """Trust policy for EKS Pod Identity: the Pod Identity service assumes the role and tags the
    session (both actions are needed). With session tags, the conditions pin the cluster, the
    namespace and the service account; without them, only the association scopes the role."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    if session_tags:
        statement["Condition"] = {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": cluster_arn,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }
        }
    return {"Version": "2012-10-17", "Statement": [statement]}


def _statements(document: Any) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    return [s for s in ([statements] if isinstance(statements, Mapping) else statements) if isinstance(s, Mapping)]


def _actions(statement: Mapping[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else [a for a in action if isinstance(a, str)]


def irsa_trust_problems(document: Any) -> list[str]:
    """What makes a web-identity trust policy trust more than one service account's STS tokens."""
    problems = []
    for statement in _statements(document):
        if "sts:AssumeRoleWithWebIdentity" not in _actions(statement) or statement.get("Effect") != "Allow":
            continue
        conditions = statement.get("Condition") or {}
        equals, like = conditions.get("StringEquals") or {}, conditions.get("StringLike") or {}
        audience = [v for k, v in {**like, **equals}.items() if k.endswith(":aud")]
        subjects = {k: v for k, v in {**like, **equals}.items() if k.endswith(":sub")}
        if not any(STS_AUDIENCE in ([v] if isinstance(v, str) else v) for v in audience):
            problems.append(f"no '<issuer>:aud' condition equal to {STS_AUDIENCE!r}")
        if not subjects:
            problems.append("no '<issuer>:sub' condition: every service account of the cluster could assume the role")
        for key, value in equals.items():
            values = [value] if isinstance(value, str) else list(value)
            if key.endswith(":sub") and any(isinstance(v, str) and uses_wildcard(v) for v in values):
                problems.append(f"StringEquals on {key} holds a wildcard, which it compares literally; use StringLike")
        for key, value in like.items():
            values = [value] if isinstance(value, str) else list(value)
            if all(isinstance(v, str) and not uses_wildcard(v) for v in values):
                problems.append(f"StringLike on {key} with no wildcard: use StringEquals for a literal")
    return problems


def _pod_identity_statements(document: Any) -> list[Mapping[str, Any]]:
    found = []
    for statement in _statements(document):
        principal = statement.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, Mapping) else []
        if POD_IDENTITY_PRINCIPAL in ([services] if isinstance(services, str) else services):
            found.append(statement)
    return found


def pod_identity_action_problems(document: Any) -> list[str]:
    """An EKS Pod Identity trust statement that lacks one of the two actions the service uses."""
    return [
        "EKS Pod Identity needs both sts:AssumeRole and sts:TagSession"
        for statement in _pod_identity_statements(document)
        if "sts:TagSession" not in _actions(statement) or "sts:AssumeRole" not in _actions(statement)
    ]


POD_IDENTITY_SCOPE_TAGS = ("aws:RequestTag/eks-cluster-arn", "aws:RequestTag/eks-cluster-name")
"""The session tags that scope a Pod Identity role to a cluster; ``aws:SourceArn`` does not (the
service's request names no cluster there)."""


def pod_identity_scope_problems(document: Any) -> list[str]:
    """A Pod Identity trust statement that no session tag scopes to a cluster. With session tags
    off (podIdentitySessionTags: false) no such condition can hold, and the association alone
    decides which service account gets the role."""
    problems = []
    for statement in _pod_identity_statements(document):
        keys = {
            key for block in (statement.get("Condition") or {}).values() if isinstance(block, Mapping) for key in block
        }
        if not keys & set(POD_IDENTITY_SCOPE_TAGS):
            problems.append(
                "no session-tag condition scopes it to a cluster: any Pod Identity association in the account "
                "can name it (expected with session tags off, where the association alone scopes it)"
            )
    return problems


def policy_json(document: Mapping[str, Any]) -> str:
    """Compact JSON, as IAM counts policy size without white space."""
    return json.dumps(document, separators=(",", ":"))


def trust_policy_size(key: str, document_json: str, limit: int, subject_count: int) -> list[Problem]:
    if len(document_json) <= limit:
        return []
    return [
        Problem(
            key,
            MISSING,
            f"the trust policy for {subject_count} service account(s) is {len(document_json)} characters, "
            f"over IAM's ACLSizePerRole quota of {limit}",
            "fewer service accounts per role, a namespace pattern such as 'team-*', or max_trust_policy_size "
            "raised to the quota granted to the account",
        )
    ]


def subjects_of(refs: Sequence[Mapping[str, str]]) -> list[str]:
    return [service_account_subject(ref["namespace"], ref["name"]) for ref in refs]


SERVICE_ACCOUNT_REF = Spec(
    "ServiceAccountRef",
    {"namespace": required(_service_account_part), "name": required(_service_account_part)},
)


def _service_accounts(key: str, refs: Any) -> list[Problem]:
    if not isinstance(refs, (list, tuple)) or not refs:
        return [Problem(key, refs, "is not accepted", "a non-empty list of {namespace, name}")]
    subjects = [
        service_account_subject(str(ref.get("namespace")), str(ref.get("name")))
        for ref in refs
        if isinstance(ref, Mapping)
    ]
    duplicates = sorted({s for s in subjects if subjects.count(s) > 1})
    if duplicates:
        return [Problem(key, MISSING, f"{', '.join(duplicates)} listed twice", "each once")]
    return []


def _trust_fits_quota(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    """Sized with the longest issuer EKS can have: the real one is unknown at preview."""
    refs, limit = values.get("service_accounts"), values.get("max_trust_policy_size")
    if refs in (None, UNKNOWN) or not isinstance(limit, int) or UNKNOWN in refs:
        return []
    subjects = subjects_of(refs)
    document = policy_json(irsa_trust_policy(WORST_CASE_PROVIDER_ARN, WORST_CASE_ISSUER_HOST, subjects))
    return trust_policy_size(keys.of("service_accounts"), document, limit, len(subjects))


def _one_issuer(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    return same_issuer(
        keys.of("oidc_provider_arn"), values.get("oidc_provider_arn"), keys.of("issuer_url"), values.get("issuer_url")
    )


IRSA_ROLE = Spec(
    "IrsaRole",
    {
        "oidc_provider_arn": required(oidc_provider_arn),
        "issuer_url": Field(issuer_url),
        "service_accounts": required(_service_accounts, "objects", SERVICE_ACCOUNT_REF),
        "managed_policy_arns": Field(list_of(policy_arn), (), "list"),
        "permissions_boundary": Field(policy_arn),
        "role_name": Field(role_name),
        "max_trust_policy_size": Field(int_range(DEFAULT_TRUST_POLICY_LIMIT), DEFAULT_TRUST_POLICY_LIMIT, "int"),
    },
    (_trust_fits_quota, _one_issuer),
)

EKS_OIDC_PROVIDER = Spec(
    "EksOidcProvider",
    {"issuer_url": required(issuer_url), "thumbprints": Field(list_of(thumbprint), kind="list")},
)


def _sizes_in_order(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    low, want, high = (values.get(name) for name in ("min_size", "desired_size", "max_size"))
    if not all(isinstance(size, int) for size in (low, want, high)) or low <= want <= high:  # type: ignore[operator]
        return []
    return [
        Problem(
            keys.of("desired_size"),
            want,
            f"is outside {keys.name('min_size')}..{keys.name('max_size')} ({low}..{high})",
            f"{keys.name('min_size')} <= {keys.name('desired_size')} <= {keys.name('max_size')}",
        )
    ]


EKS_CLUSTER = Spec(
    "EksCluster",
    {
        "cluster_name": required(cluster_name),
        "kubernetes_version": required(kubernetes_version),
        "region": Field(region),
        "subnet_ids": Field(list_of(subnet_id, allow_empty=False), kind="list"),
        "instance_types": Field(list_of(instance_type, allow_empty=False), DEFAULT_INSTANCE_TYPES, "list"),
        "desired_size": Field(int_range(0, MAX_NODE_GROUP_SIZE), DEFAULT_DESIRED_SIZE, "int"),
        "min_size": Field(int_range(0, MAX_NODE_GROUP_SIZE), DEFAULT_MIN_SIZE, "int"),
        "max_size": Field(int_range(1, MAX_NODE_GROUP_SIZE), DEFAULT_MAX_SIZE, "int"),
        "deletion_protection": Field(boolean, True, "bool"),
        "enforce_network_policy": Field(boolean, True, "bool"),
        "pod_identity_agent": Field(boolean, False, "bool"),
    },
    (_sizes_in_order,),
)


def service_assume_role_policy(partition: str, service: str) -> str:
    """Trust policy letting an AWS service principal assume a role."""
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.{suffix}"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"] if service == "eks" else "sts:AssumeRole",
                }
            ],
        },
        separators=(",", ":"),
    )


def managed_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{policy}"


def eks_issuer_from_identities(identities: Sequence[object]) -> str:
    """The cluster's own issuer (``oidc.eks.<region>.amazonaws.com``), never a dual-stack rewrite."""
    return identities[0].oidcs[0].issuer  # type: ignore[attr-defined]


def eks_kubeconfig(name: str, endpoint: str, ca_data: str, region: str | None = None) -> str:
    """A kubeconfig authenticating through ``aws eks get-token`` (no credential is embedded)."""
    get_token = ["eks", "get-token", "--cluster-name", name, "--output", "json"]
    if region:
        get_token += ["--region", region]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": get_token,
                        }
                    },
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


EKS_POD_IDENTITY = Spec(
    "EksPodIdentity",
    {
        "cluster_name": required(cluster_name),
        "cluster_arn": required(cluster_arn),
        "namespace": required(dns1123_label),
        "service_account": required(dns1123_label),
        "managed_policy_arns": Field(list_of(policy_arn), (), "list"),
        "permissions_boundary": Field(policy_arn),
        "role_name": Field(role_name),
        "session_tags": Field(boolean, True, "bool"),
    },
)

EKS_LOOKUP = Spec("EksClusterLookup", {"cluster_name": required(cluster_name), "region": Field(region)})
