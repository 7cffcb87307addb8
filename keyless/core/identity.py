"""Which cloud identity a workload gets, per cloud, and what each mode needs.

    EKS  irsa          an IAM role trusting the cluster's OIDC provider; the ServiceAccount is annotated
         podIdentity   an IAM role trusting pods.eks.amazonaws.com, bound by a Pod Identity association
    GKE  gcpServiceAccount  a Google service account the ServiceAccount impersonates (annotated)
         direct        project roles granted to the ServiceAccount's own principal; no Google service account

Pulumi Cloud login is the same in every mode: the cluster's issuer and the projected token.
"""

from __future__ import annotations

from enum import StrEnum


class IdentityMode(StrEnum):
    IRSA = "irsa"
    POD_IDENTITY = "podIdentity"
    GCP_SERVICE_ACCOUNT = "gcpServiceAccount"
    DIRECT = "direct"


MODES = {
    "eks": (IdentityMode.IRSA, IdentityMode.POD_IDENTITY),
    "gke": (IdentityMode.GCP_SERVICE_ACCOUNT, IdentityMode.DIRECT),
    "none": (),
}
"""The modes each identity cloud offers; the first is the default (today's behaviour)."""


def default_mode(identity_cloud: str) -> IdentityMode | None:
    modes = MODES.get(identity_cloud, ())
    return modes[0] if modes else None
