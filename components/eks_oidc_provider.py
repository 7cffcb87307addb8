"""The IAM OIDC identity provider that lets a cluster's tokens be exchanged with AWS STS."""

import re
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_aws import iam

from components._common import InvalidArgumentError, child_opts, type_token, when_plain
from components.pulumi_cloud_trust import check_issuer_url

STS_AUDIENCE = "sts.amazonaws.com"
_THUMBPRINT = re.compile(r"^[0-9a-fA-F]{40}$")


class EksOidcProviderArgs(TypedDict):
    issuer_url: pulumi.Input[str]
    """The cluster's issuer, ``https://oidc.eks.<region>.amazonaws.com/id/<id>``."""
    thumbprints: NotRequired[Sequence[str]]
    """SHA-1 thumbprints of the issuer's CA; leave unset for EKS, which AWS verifies against trusted CAs."""


def check_thumbprints(key: str, thumbprints: object) -> list[str]:
    values = list(thumbprints) if isinstance(thumbprints, (list, tuple)) else None
    if values is None or not all(isinstance(t, str) and _THUMBPRINT.match(t) for t in values):
        raise InvalidArgumentError(
            f"{key}: {thumbprints!r} is not accepted; expected a list of 40-character hex SHA-1 thumbprints"
        )
    return values


class EksOidcProvider(pulumi.ComponentResource):
    """IAM OIDC provider for a cluster issuer, with ``sts.amazonaws.com`` as its only client id."""

    arn: pulumi.Output[str]
    """ARN of the provider: the ``Federated`` principal of IRSA trust policies."""
    issuer_host: pulumi.Output[str]
    """The issuer without ``https://``."""

    def __init__(self, name: str, args: EksOidcProviderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        when_plain(args.get("issuer_url"), lambda v: check_issuer_url("issuer_url", v))
        thumbprints = args.get("thumbprints")
        if thumbprints is not None:
            thumbprints = check_thumbprints("thumbprints", thumbprints)
        super().__init__(type_token("EksOidcProvider"), name, None, opts)
        provider = iam.OpenIdConnectProvider(
            name,
            url=args["issuer_url"],
            client_id_lists=[STS_AUDIENCE],
            thumbprint_lists=thumbprints,
            opts=child_opts(self),
        )
        self.arn = provider.arn
        self.issuer_host = pulumi.Output.from_input(args["issuer_url"]).apply(lambda url: url.removeprefix("https://"))
        self.register_outputs({"arn": self.arn, "issuer_host": self.issuer_host})
