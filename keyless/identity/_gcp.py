"""What the GKE modes share: their workload field, and how the access map reads their grants."""

from __future__ import annotations

from collections.abc import Sequence

from keyless.core import gcp
from keyless.core.spec import Field
from keyless.core.values import list_of
from keyless.record import Registration

MEMBER = "gcp:projects/iAMMember:IAMMember"

FIELDS = {
    "gcp_roles": Field(
        list_of(gcp.project_role),
        (),
        "list",
        doc="GKE: project roles granted to the workload's Google service account, or to its principal (direct).",
    ),
}


def grants(registrations: Sequence[Registration], member: str) -> tuple[str, ...]:
    """The project roles granted to ``member``."""
    return tuple(
        str(r.plain_inputs.get("role"))
        for r in registrations
        if r.type == MEMBER and r.plain_inputs.get("member") == member
    )
