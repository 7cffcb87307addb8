"""EKS Pod Identity: an IAM role trusting ``pods.eks.amazonaws.com`` (``sts:AssumeRole`` and
``sts:TagSession``), bound to one service account by a Pod Identity association. No OIDC provider
and no annotation; the cluster runs the ``eks-pod-identity-agent`` add-on."""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core.spec import Field
from keyless.core.values import boolean
from keyless.identity import Access, Binding, Created, Mode, _aws, register
from keyless.record import Registration

ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


def create(binding: Binding) -> Created:
    from keyless.components.eks_pod_identity import EksPodIdentity, EksPodIdentityArgs

    args: EksPodIdentityArgs = {
        "cluster_name": binding.cluster["cluster_name"],
        "cluster_arn": binding.cluster["cluster_arn"],
        "namespace": binding.namespace,
        "service_account": binding.service_account,
        "session_tags": binding.settings.get("pod_identity_session_tags") is not False,
        **_aws.role_args(binding.settings),  # type: ignore[typeddict-item]
    }
    # No annotation: the association binds the role.
    return Created(EksPodIdentity(binding.name, args, binding.options("EksPodIdentity")).role_arn)


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    found = {}
    for r in registrations:
        if r.type == ASSOCIATION:
            inputs = r.plain_inputs
            arn = str(inputs.get("roleArn"))
            key = (str(inputs.get("namespace")), str(inputs.get("serviceAccount")))
            found[key] = Access(f"{arn} (Pod Identity)", _aws.grants(registrations, arn))
    return found


MODE = register(
    Mode(
        name="podIdentity",
        summary="an IAM role trusting pods.eks.amazonaws.com, bound by a Pod Identity association",
        clouds=("eks",),
        create=create,
        describe=describe,
        fields={
            **_aws.FIELDS,
            "pod_identity_session_tags": Field(
                boolean,
                doc="podIdentity: keep EKS's session tags (default true), which the trust policy's cluster, "
                "namespace and service-account conditions need.",
                kind="bool",
            ),
        },
        needs=frozenset({"cluster_name", "cluster_arn"}),
        cluster_args={"eks": {"pod_identity_agent": True}},
        credential_endpoint="eks-pod-identity-agent",
        guardrails=("pod-identity-trust-allows-both-actions", "pod-identity-trust-scoped"),
    )
)
