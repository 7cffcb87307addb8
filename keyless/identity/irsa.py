"""IRSA (EKS, the default there): an IAM role trusting the cluster's IAM OIDC provider for one
service account; the ServiceAccount is annotated with the role, and the EKS webhook mounts a token
for ``sts.amazonaws.com`` beside the Pulumi Cloud one."""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core.aws import STS_AUDIENCE
from keyless.core.kubernetes import EKS_IDENTITY_ANNOTATION
from keyless.identity import Access, Binding, Created, Mode, _aws, register
from keyless.record import Registration

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def create(binding: Binding) -> Created:
    from keyless.components.irsa_role import IrsaRole, IrsaRoleArgs

    args: IrsaRoleArgs = {
        "oidc_provider_arn": binding.cluster["oidc_provider_arn"],
        "issuer_url": binding.cluster["issuer_url"],
        "service_accounts": [{"namespace": binding.namespace, "name": binding.service_account}],
        **_aws.role_args(binding.settings),  # type: ignore[typeddict-item]
    }
    role = IrsaRole(binding.name, args, binding.options("IrsaRole"))
    return Created(role.arn, {EKS_IDENTITY_ANNOTATION: role.arn})


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    found = {}
    for r in registrations:
        meta = r.plain_inputs.get("metadata", {}) if r.type == SERVICE_ACCOUNT else {}
        arn = (meta.get("annotations") or {}).get(EKS_IDENTITY_ANNOTATION)
        if arn:
            found[(str(meta.get("namespace")), str(meta.get("name")))] = Access(
                str(arn), _aws.grants(registrations, arn)
            )
    return found


MODE = register(
    Mode(
        name="irsa",
        summary="an IAM role trusting the cluster's OIDC provider; the ServiceAccount is annotated",
        clouds=("eks",),
        default_on=("eks",),
        create=create,
        describe=describe,
        fields=_aws.FIELDS,
        needs=frozenset({"oidc_provider_arn", "issuer_url"}),
        cloud_token_audience=STS_AUDIENCE,
        guardrails=("irsa-trust-pins-audience-and-subject", "iam-trust-policy-fits-the-quota"),
    )
)
