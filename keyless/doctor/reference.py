"""What a stack declares to Pulumi Cloud: its issuer and the policies its components register.

The policies come from running the stack's own ``PulumiCloudTrust`` on the mock engine with the
arguments its config maps to, so the doctor reads exactly what ``pulumi up`` would register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyless.clouds import IssuerReference
from keyless.config import StackConfig, from_stack_file, parse
from keyless.core.pulumi_cloud import pulumi_audience
from keyless.kinds.workloads import Workload

DEFAULT_EXCHANGED_LIFETIME_SECONDS = 7200
"""What the CLI asks for without ``--oidc-expiration``: two hours."""


@dataclass(frozen=True)
class StackReference:
    stack: str
    organization: str
    issuer: IssuerReference
    max_expiration_seconds: int
    policies: list[dict[str, Any]]
    config: StackConfig = field(repr=False)

    @property
    def audience(self) -> str:
        return pulumi_audience(self.organization)

    def workload(self, namespace: str, service_account: str) -> Workload | None:
        return next(
            (w for w in self.config.workloads if (w.namespace, w.service_account) == (namespace, service_account)),
            None,
        )

    def login_request(self, workload: Workload | None) -> dict[str, Any]:
        """What the workload's exchange asks for: the login Job's flags for the workload it runs
        as, else the token its own policy grants, with the CLI's default lifetime."""
        if workload is not None and workload.runs_login_job:
            request = self.config.login_request().exchange()
            return {
                "token_type": request.token_type,
                "team": request.team,
                "user": request.user,
                "lifetime_seconds": request.lifetime_seconds,
                "source": "the login Job's flags",
            }
        if workload is not None and workload.token_type == "runner":
            return {"token_type": "runner", "lifetime_seconds": None, "source": "a deployment agent (runner token)"}
        if workload is not None:
            return {
                "token_type": workload.token_type,
                "team": workload.policy.get("team_name"),
                "user": workload.policy.get("user_login"),
                "lifetime_seconds": DEFAULT_EXCHANGED_LIFETIME_SECONDS,
                "source": "the workload's policy",
            }
        return {
            "token_type": "organization",
            "lifetime_seconds": DEFAULT_EXCHANGED_LIFETIME_SECONDS,
            "source": "the CLI's default",
        }


def registered_policies(config: StackConfig, issuer_url: str) -> tuple[list[dict[str, Any]], int]:
    """The policies and maximum lifetime ``PulumiCloudTrust`` registers for this config."""
    from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
    from keyless.preview.engine import run_program

    run = run_program({}, program=lambda: PulumiCloudTrust("pulumi-cloud", config.trust_args(issuer_url)))
    issuer = run.one("pulumiservice:index:OidcIssuer").plain_inputs
    return list(issuer["policies"]), int(issuer["maxExpirationSeconds"])


def load(stack: str, root: Path, issuer_url: str | None = None) -> StackReference:
    """The stack's reference; ``issuer_url`` (the issuer as deployed) replaces what the config implies."""
    config = parse(from_stack_file(stack, root))
    declared = config.issuer_reference()
    # The policies do not depend on the issuer's URL: register them with the declared one.
    stand_in = declared.url or f"https://oidc.eks.{declared.eks_region or 'us-east-1'}.amazonaws.com/id/{'0' * 32}"
    policies, maximum = registered_policies(config, stand_in)
    issuer = declared if issuer_url is None else IssuerReference(issuer_url)
    return StackReference(stack, config.organization, issuer, maximum, policies, config)
