"""A Google service account (GKE, the default there): ``roles/iam.workloadIdentityUser`` for
``serviceAccount:<pool>[ns/ksa]``, the project roles granted to it, and the ServiceAccount
annotated with its e-mail; pods get its credentials from the GKE metadata server."""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core.kubernetes import GKE_IDENTITY_ANNOTATION
from keyless.identity import Access, Binding, Created, Mode, _gcp, register
from keyless.record import Registration

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def create(binding: Binding) -> Created:
    from keyless.components.gcp_workload_identity import GcpWorkloadIdentity, GcpWorkloadIdentityArgs

    args: GcpWorkloadIdentityArgs = {
        "project": binding.cluster["gcp_project"],
        "workload_pool": binding.cluster["workload_pool"],
        "namespace": binding.namespace,
        "service_account": binding.service_account,
        "project_roles": list(binding.settings.get("gcp_roles") or ()),
    }
    gsa = GcpWorkloadIdentity(binding.name, args, binding.options("GcpWorkloadIdentity"))
    return Created(gsa.email, {GKE_IDENTITY_ANNOTATION: gsa.email})


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    found = {}
    for r in registrations:
        meta = r.plain_inputs.get("metadata", {}) if r.type == SERVICE_ACCOUNT else {}
        email = (meta.get("annotations") or {}).get(GKE_IDENTITY_ANNOTATION)
        if email:
            grants = _gcp.grants(registrations, f"serviceAccount:{email}")
            found[(str(meta.get("namespace")), str(meta.get("name")))] = Access(str(email), grants)
    return found


MODE = register(
    Mode(
        name="gcpServiceAccount",
        summary="a Google service account the ServiceAccount impersonates (annotated)",
        clouds=("gke",),
        default_on=("gke",),
        create=create,
        describe=describe,
        fields=_gcp.FIELDS,
        needs=frozenset({"gcp_project", "workload_pool"}),
        credential_endpoint="gke-metadata-server",
        guardrails=("workload-identity-user-names-one-service-account", "gke-node-pools-use-the-metadata-server"),
    )
)
