"""The IAM OIDC identity provider that lets a cluster's tokens be exchanged with AWS STS."""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
from pulumi_aws import iam

from keyless.components._common import child_opts, validated
from keyless.core.aws import EKS_OIDC_PROVIDER, STS_AUDIENCE, issuer_host
from keyless.core.naming import type_token


class EksOidcProviderArgs(TypedDict):
    issuer_url: pulumi.Input[str]
    """The cluster's issuer, ``https://oidc.eks.<region>.amazonaws.com/id/<id>``."""
    thumbprints: NotRequired[Sequence[str]]
    """SHA-1 thumbprints of the issuer's CA; leave unset for EKS, which AWS verifies against trusted CAs."""


class EksOidcProvider(pulumi.ComponentResource):
    """IAM OIDC provider for a cluster issuer, with ``sts.amazonaws.com`` as its only client id."""

    arn: pulumi.Output[str]
    """ARN of the provider: the ``Federated`` principal of IRSA trust policies."""
    issuer_host: pulumi.Output[str]
    """The issuer without ``https://``."""

    def __init__(self, name: str, args: EksOidcProviderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        checked = validated(EKS_OIDC_PROVIDER, args)
        super().__init__(type_token("EksOidcProvider"), name, None, opts)
        thumbprints = checked["thumbprints"]
        provider = iam.OpenIdConnectProvider(
            name,
            url=checked["issuer_url"],
            client_id_lists=[STS_AUDIENCE],
            thumbprint_lists=None if thumbprints is None else list(thumbprints),
            opts=child_opts(self),
        )
        self.arn = provider.arn
        self.issuer_host = pulumi.Output.from_input(checked["issuer_url"]).apply(issuer_host)
        self.register_outputs({"arn": self.arn, "issuer_host": self.issuer_host})
