"""The issuers of managed Kubernetes, as their tokens carry them: what ``iss`` looks like on GKE,
EKS and AKS, so that a URL that cannot be its cluster's ``iss`` is explained, not just refused.

    GKE  https://container.googleapis.com/v1/projects/<project>/locations/<location>/clusters/<name>
    EKS  https://oidc.eks.<region>.amazonaws.com/id/<32 upper-case letters and digits>
    AKS  https://<region>.oic.prod-aks.azure.com/<tenant>/<uuid>/   (older: https://oidc.prod-aks.azure.com/<uuid>/)

GKE and EKS tokens carry no trailing ``/``; AKS tokens always do. Pulumi Cloud's guide for GKE
registers the URL with a ``/``; whether Pulumi Cloud forgives the difference is not documented,
so the URL kept here is the token's own, byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from keyless.core.problems import Problem

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GKE = re.compile(r"^https://container\.googleapis\.com(/.*)$")
_GKE_PATH = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/clusters/[^/]+$")
_EKS = re.compile(r"^https://oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(/.*)?$")
_EKS_PATH = re.compile(r"^/id/[0-9A-Z]{32}$")
_AKS = re.compile(r"^https://(?:[a-z0-9]+\.oic\.prod-aks\.azure\.com|oidc\.prod-aks\.azure\.com)(/.*)?$")
_AKS_PATH = re.compile(rf"^/(?:{_UUID}/)?{_UUID}/$", re.IGNORECASE)

GKE_SHAPE = "https://container.googleapis.com/v1/projects/<project>/locations/<location>/clusters/<name>"
EKS_SHAPE = "https://oidc.eks.<region>.amazonaws.com/id/<32 upper-case letters and digits>"
AKS_SHAPE = "https://<region>.oic.prod-aks.azure.com/<tenant>/<uuid>/ (with the trailing '/')"


def cloud_of(url: Any) -> str | None:
    """``gke``, ``eks`` or ``aks`` for an issuer on that cloud's issuer host; else None."""
    if not isinstance(url, str):
        return None
    for cloud, host in (("gke", _GKE), ("eks", _EKS), ("aks", _AKS)):
        if host.match(url):
            return cloud
    return None


def eks_region(url: Any) -> str | None:
    match = _EKS.match(url) if isinstance(url, str) else None
    return match.group(1) if match else None


def shape_reasons(url: Any) -> list[str]:
    """Why ``url`` cannot be the ``iss`` of its cloud's tokens; empty when it can, or when it is
    on no managed cloud's issuer host (a self-managed issuer has no known shape)."""
    cloud = cloud_of(url)
    if cloud == "gke":
        path = _GKE.match(url).group(1)  # type: ignore[union-attr]
        if path.endswith("/") and _GKE_PATH.match(path.rstrip("/")):
            return ["ends with '/'; GKE tokens' iss has none"]
        if "/zones/" in path:
            return ["says 'zones/'; GKE tokens say 'locations/' (a cluster's selfLink is not its issuer)"]
        return [] if _GKE_PATH.match(path) else [f"is not shaped {GKE_SHAPE}"]
    if cloud == "eks":
        path = _EKS.match(url).group(2) or ""  # type: ignore[union-attr]
        if path.endswith("/") and _EKS_PATH.match(path.rstrip("/")):
            return ["ends with '/'; EKS tokens' iss has none"]
        if not path.startswith("/id/"):
            return [f"has no '/id/<id>' after the host; expected {EKS_SHAPE}"]
        ident = path.removeprefix("/id/")
        if _EKS_PATH.match(path):
            return []
        if re.fullmatch(r"[0-9A-Za-z]{32}", ident):
            return [f"has the id {ident!r} in lower case; EKS writes it in upper case"]
        return [f"has the id {ident!r} ({len(ident)} characters); EKS issuer ids are 32 letters and digits"]
    if cloud == "aks":
        path = _AKS.match(url).group(1) or ""  # type: ignore[union-attr]
        if not path.endswith("/"):
            return ["has no trailing '/'; AKS tokens' iss ends with one (and Entra requires it)"]
        return [] if _AKS_PATH.match(path) else [f"is not shaped {AKS_SHAPE}"]
    return []


def cluster_issuer(key: str, value: Any) -> list[Problem]:
    """A rule: an issuer on a managed cloud's host is shaped as that cloud's tokens carry it."""
    return [Problem(key, value, reason, "the exact 'iss' of the cluster's tokens") for reason in shape_reasons(value)]
