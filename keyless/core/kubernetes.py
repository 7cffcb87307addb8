"""Kubernetes facts: Pod Security levels, service-account annotations, projected-token limits."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from keyless.core import tenancy
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field, Keys, Spec, required
from keyless.core.values import boolean, choice, dns1123_label, first


class PodSecurityLevel(StrEnum):
    """A Pod Security Standard; anything but ``restricted`` loosens a namespace on purpose."""

    RESTRICTED = "restricted"
    BASELINE = "baseline"
    PRIVILEGED = "privileged"


MIN_PROJECTED_TOKEN_SECONDS = 600
"""The API server refuses projected service-account tokens that live shorter than this."""
MAX_PROJECTED_TOKEN_SECONDS = 86_400
GKE_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
EKS_IDENTITY_ANNOTATION = "eks.amazonaws.com/role-arn"


def pod_security_labels(level: str) -> dict[str, str]:
    """Labels that make the API server enforce, audit and warn on ``level`` at its latest version."""
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = str(level)
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


RESTRICTED_NAMESPACE = Spec(
    "RestrictedNamespace",
    {
        "name": required(dns1123_label),
        "pod_security_level": Field(choice(PodSecurityLevel), PodSecurityLevel.RESTRICTED.value),
        "labels": Field(None, kind="map"),
    },
)


def _one_identity(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
    if values.get("gcp_service_account_email") is not None and values.get("aws_role_arn") is not None:
        return [
            Problem(
                keys.here,
                MISSING,
                f"{keys.name('gcp_service_account_email')} and {keys.name('aws_role_arn')} were both given",
                "at most one: a service account acts as one cloud identity",
            )
        ]
    return []


WORKLOAD_SERVICE_ACCOUNT = Spec(
    "WorkloadServiceAccount",
    {
        "namespace": required(dns1123_label),
        "name": required(first(dns1123_label, tenancy.not_default)),
        "gcp_service_account_email": Field(),
        "aws_role_arn": Field(),
        "annotations": Field(kind="map"),
        "allow_reserved_namespace": Field(boolean, False, "bool"),
    },
    (_one_identity, tenancy.namespace_rule(lambda values: {})),
)


def account_named_after(suffix: str, given: str, what: str) -> Any:
    """A cross rule: an object's ``name`` leaves room for the account ``<name><suffix>`` named after
    it, unless the account is ``given`` by name."""

    def rule(values: Mapping[str, Any], keys: Keys) -> list[Problem]:
        name = values.get("name")
        if values.get(given) is not None or not isinstance(name, str) or not dns1123_label("", name + suffix):
            return []
        return [
            Problem(
                keys.of("name"),
                name,
                f"leaves no valid name for {what} {name + suffix!r} (a DNS-1123 label, at most 63 characters)",
                f"a name of at most {63 - len(suffix)} characters, or {keys.name(given)}",
            )
        ]

    return rule


def identity_annotations(gcp_service_account_email: Any = None, aws_role_arn: Any = None) -> dict[str, Any]:
    """The annotation binding a service account to its cloud identity (none for Pulumi-only workloads)."""
    if gcp_service_account_email is not None:
        return {GKE_IDENTITY_ANNOTATION: gcp_service_account_email}
    if aws_role_arn is not None:
        return {EKS_IDENTITY_ANNOTATION: aws_role_arn}
    return {}


APP_NAME = "keyless"
MANAGED_BY = "pulumi"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(text: str) -> str:
    """``text`` as a label value (at most 63 characters): shortened with a digest when longer."""
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[:54].strip("-_.")
    return f"{head}-{digest}" if head else digest


def recommended_labels(instance: str, component: str) -> dict[str, str]:
    """Kubernetes' recommended labels: what an object is, which instance, and who manages it."""
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": label_value(instance),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def restricted_pod_security_context(uid: int) -> dict[str, Any]:
    """A pod security context the ``restricted`` Pod Security Standard admits (wire form)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_security_context(uid: int) -> dict[str, Any]:
    """A container security context the ``restricted`` standard admits, with a read-only root (wire form)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


CREDENTIAL_ENDPOINTS = {
    "gke-metadata-server": ("169.254.169.254", 80),
    "eks-pod-identity-agent": ("169.254.170.23", 80),
}
"""The node-local endpoints that hand pods their cloud credentials, by name: the GKE metadata server
(Workload Identity and direct principals) and the EKS Pod Identity agent. IRSA and Entra Workload
ID need neither (their tokens are files; STS and Entra answer on HTTPS). On EKS and AKS,
169.254.169.254 is the node's own instance metadata, the node's credentials: no pod should reach it."""
credential_endpoint = choice(CREDENTIAL_ENDPOINTS)


def egress_only(
    pod_selector: Mapping[str, Any], ports: Sequence[int] = (443,), endpoints: Sequence[str] = ()
) -> dict[str, Any]:
    """A NetworkPolicy spec (wire form) for the pods ``pod_selector`` selects: no ingress; egress to
    DNS (53, UDP and TCP) and to the TCP ``ports`` anywhere, and to the named credential ``endpoints``
    (:data:`CREDENTIAL_ENDPOINTS`) only."""
    egress: list[dict[str, Any]] = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": port} for port in ports]},
    ]
    for name in endpoints:
        address, port = CREDENTIAL_ENDPOINTS[name]
        egress.append({"to": [{"ipBlock": {"cidr": f"{address}/32"}}], "ports": [{"protocol": "TCP", "port": port}]})
    return {"podSelector": dict(pod_selector), "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": egress}


def projected_token_volume(name: str, audience: Any, expiration_seconds: Any) -> dict[str, Any]:
    """A volume holding one projected service-account token for ``audience``, as the file ``token``
    (wire form). Mount it as a whole folder: the kubelet rotates the file in place at 80% of its
    lifetime, and a ``subPath`` mount is never refreshed."""
    token = {"audience": audience, "expirationSeconds": expiration_seconds, "path": "token"}
    return {"name": name, "projected": {"sources": [{"serviceAccountToken": token}]}}
