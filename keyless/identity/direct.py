"""Direct principals (GKE): project roles granted to the Kubernetes service account's own
principal, ``principal://…/subject/ns/<ns>/sa/<ksa>``; no Google service account and no
annotation (Google's recommended path since 2024). Needs the project number."""

from __future__ import annotations

import re
from collections.abc import Sequence

from keyless.identity import Access, Binding, Created, Mode, _gcp, register
from keyless.record import Registration

_SUBJECT = re.compile(r"^principal://.*/subject/ns/([^/]+)/sa/([^/]+)$")


def create(binding: Binding) -> Created:
    from keyless.components.gke_workload_principal import GkeWorkloadPrincipal, GkeWorkloadPrincipalArgs

    args: GkeWorkloadPrincipalArgs = {
        "project": binding.cluster["gcp_project"],
        "project_number": binding.cluster["project_number"],
        "workload_pool": binding.cluster["workload_pool"],
        "namespace": binding.namespace,
        "service_account": binding.service_account,
        "project_roles": list(binding.settings.get("gcp_roles") or ()),
    }
    # No annotation: the principal is the Kubernetes service account itself.
    return Created(GkeWorkloadPrincipal(binding.name, args, binding.options("GkeWorkloadPrincipal")).principal)


def describe(registrations: Sequence[Registration]) -> dict[tuple[str, str], Access]:
    found = {}
    for r in registrations:
        member = str(r.plain_inputs.get("member")) if r.type == _gcp.MEMBER else ""
        match = _SUBJECT.match(member)
        if match:
            found[(match.group(1), match.group(2))] = Access(
                "its own principal (direct)", _gcp.grants(registrations, member)
            )
    return found


MODE = register(
    Mode(
        name="direct",
        summary="project roles granted to the ServiceAccount's own principal; no Google service account",
        clouds=("gke",),
        create=create,
        describe=describe,
        fields=_gcp.FIELDS,
        needs=frozenset({"gcp_project", "workload_pool", "project_number"}),
        credential_endpoint="gke-metadata-server",
        guardrails=("gke-node-pools-use-the-metadata-server",),
    )
)
