"""EKS (``keyless:cloud: eks``): a cluster in the region ``aws:region`` names, with the IAM OIDC
provider IRSA needs (created, or given); or an existing EKS cluster, looked up or named by its issuer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keyless import identity
from keyless.clouds import Cloud, Cluster, Existing, IssuerReference, Lookup
from keyless.core import aws
from keyless.core.problems import MISSING, Problem
from keyless.core.spec import Field
from keyless.core.values import list_of

if TYPE_CHECKING:
    import pulumi

    from keyless.components.eks_cluster import EksClusterArgs
    from keyless.components.eks_oidc_provider import EksOidcProviderArgs

REGION = "aws:region"

SPEC = aws.EKS_CLUSTER.only(
    "cluster_name",
    "kubernetes_version",
    "subnet_ids",
    "instance_types",
    "desired_size",
    "min_size",
    "max_size",
    "deletion_protection",
    "enforce_network_policy",
).extend(
    "eks",
    {
        "oidc_provider_arn": Field(
            aws.oidc_provider_arn, doc="Reuse the cluster's IAM OIDC provider instead of creating one."
        ),
        "oidc_thumbprints": Field(
            list_of(aws.thumbprint),
            kind="list",
            doc="Pin the issuer CA's thumbprints (AWS verifies EKS issuers without).",
        ),
    },
)


@dataclass(frozen=True)
class EksConfig:
    cluster_args: EksClusterArgs
    """``EksCluster`` args."""
    oidc_provider_arn: str | None = None
    oidc_thumbprints: tuple[str, ...] | None = None

    def oidc_provider_args(self, issuer_url: Any) -> EksOidcProviderArgs:
        """``EksOidcProvider`` args."""
        args: EksOidcProviderArgs = {"issuer_url": issuer_url}
        if self.oidc_thumbprints is not None:
            args["thumbprints"] = list(self.oidc_thumbprints)
        return args


def check(section: Any, values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if not values.get(REGION):
        problems.append(
            Problem(REGION, MISSING, f"missing; the EKS cluster's region is set with `pulumi config set {REGION} …`")
        )
    if not isinstance(section, Mapping):
        problems.append(
            Problem("keyless:eks", MISSING, "missing", "the EKS cluster's clusterName and kubernetesVersion")
        )
    return problems


def read(section: Mapping[str, Any], values: Mapping[str, Any], modes: Sequence[str]) -> EksConfig:
    """The cluster's args (with what its accounts' identity modes add), and its OIDC provider's."""
    cluster_args = {key: section[key] for key in section if key not in ("oidc_provider_arn", "oidc_thumbprints")}
    cluster_args["region"] = values[REGION]
    for name in dict.fromkeys(modes):
        cluster_args.update(identity.get(name).cluster_args.get("eks", {}))
    if cluster_args.get("subnet_ids") is None:
        cluster_args.pop("subnet_ids", None)
    thumbprints = section.get("oidc_thumbprints")
    return EksConfig(
        cluster_args,  # type: ignore[arg-type]
        section.get("oidc_provider_arn"),
        None if thumbprints is None else tuple(thumbprints),
    )


def oidc_provider_arn(
    issuer_url: pulumi.Output[str], given: str | None, args_for: Callable[[pulumi.Output[str]], EksOidcProviderArgs]
) -> pulumi.Output[str]:
    """The cluster's IAM OIDC provider: the one given, or a new one for its issuer."""
    import pulumi

    if given is not None:
        return pulumi.Output.from_input(given)
    from keyless.components.eks_oidc_provider import EksOidcProvider

    return EksOidcProvider("oidc-provider", args_for(issuer_url)).arn


def create(config: EksConfig, needs: frozenset[str]) -> Cluster:
    from keyless.components.eks_cluster import EksCluster

    eks = EksCluster("cluster", config.cluster_args)
    cluster = Cluster(eks.issuer_url, eks.kubernetes_provider, eks.kubeconfig, eks.cluster_name)
    cluster.facts.update(cluster_name=eks.cluster_name, cluster_arn=eks.cluster_arn)
    if "oidc_provider_arn" in needs:
        cluster.facts["oidc_provider_arn"] = oidc_provider_arn(
            eks.issuer_url, config.oidc_provider_arn, config.oidc_provider_args
        )
    return cluster


def issuer(config: EksConfig) -> IssuerReference:
    """EKS gives a cluster's issuer its id only once the cluster exists: its region and shape."""
    return IssuerReference(None, str(config.cluster_args.get("region")), "eks")


def _lookup_check(here: str, lookup: Mapping[str, Any], values: Mapping[str, Any]) -> list[Problem]:
    problems = aws.cluster_name(f"{here}.clusterName", lookup["cluster_name"])
    if not values.get(REGION):
        problems.append(Problem(REGION, MISSING, "missing; an EKS lookup needs the cluster's region"))
    return problems


def _existing_facts(
    settings: Mapping[str, Any], found: Any, lookup: Mapping[str, Any], needs: frozenset[str]
) -> dict[str, Any]:
    import pulumi

    found_facts: dict[str, Any] = {}
    if "oidc_provider_arn" in needs:
        found_facts["oidc_provider_arn"] = oidc_provider_arn(
            found.issuer_url, settings["oidc_provider_arn"], lambda url: {"issuer_url": url}
        )
    if lookup and needs & identity.LOOKUP_FACTS:  # the config requires a lookup for them
        found_facts["cluster_name"] = pulumi.Output.from_input(lookup["cluster_name"])
        found_facts["cluster_arn"] = found.cluster_arn.apply(lambda value: value or "")
    return found_facts


CLOUD = Cloud(
    key="eks",
    title="EKS",
    provider_key=REGION,
    provider_rule=aws.region,
    spec=SPEC,
    summary=f"cloud eks: the EKS cluster to create (region: {REGION}).",
    component="EksCluster",
    check=check,
    read=read,
    create=create,
    issuer=issuer,
    lookup=Lookup(
        fields={},
        check=_lookup_check,
        args=lambda lookup, values: {"cluster_name": lookup["cluster_name"], "region": values.get(REGION) or ""},
        issuer=lambda args: IssuerReference(None, str(args.get("region") or "") or None, "eks"),
    ),
    existing=Existing(
        fields={
            "oidc_provider_arn": Field(
                aws.oidc_provider_arn, doc="EKS: the cluster's IAM OIDC provider; omit to create one."
            )
        },
        settings=lambda existing, values: {"oidc_provider_arn": existing.get("oidc_provider_arn")},
        facts=_existing_facts,
    ),
)
