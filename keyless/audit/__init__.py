"""``keyless audit --live``: what Pulumi Cloud really holds for an organization's OIDC issuers,
compared with what a stack declares.

:mod:`keyless.audit.live` reads the organization through Pulumi's own REST client
(``pulumi-cloud-sdk``), read-only, as the admin who runs it; :mod:`keyless.audit.findings` compares
that state with the stack's issuer and policies (what its ``PulumiCloudTrust`` registers) and says
what differs. Neither prints a token.
"""
