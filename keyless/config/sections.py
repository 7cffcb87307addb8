"""The stack config's keys: each section is its component's spec, spelt in camelCase.

A section reuses the component's :class:`~keyless.core.spec.Field` objects (rule, default, kind),
so a value the stack config accepts is exactly one the component accepts. Keys that exist only
in the stack config carry their documentation here; the others are documented on the
component's args and appear in the generated reference (``docs/configuration.md``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from keyless import clouds, kinds
from keyless.clouds import existing
from keyless.core import kubernetes, login_job, pulumi_cloud
from keyless.core.spec import Field, Spec, required
from keyless.core.values import boolean, choice, text

NAMESPACE = "keyless"
PREFIX = f"{NAMESPACE}:"


def sources() -> list[str]:
    """Where a stack's cluster comes from: a cloud of the registry, or someone else."""
    return [*(cloud.key for cloud in clouds.clouds()), existing.KEY]


LOGIN_JOB = replace(
    login_job.LOGIN_JOB.only(
        "image",
        "token_expiration_seconds",
        "exchanged_token_lifetime",
        "active_deadline_seconds",
        "await_timeout_seconds",
        "backend_url",
        "canary_schedule",
    ),
    name="loginJob",
    rules=(),
)

_TRUST = pulumi_cloud.PULUMI_CLOUD_TRUST.fields
ISSUER = Spec(
    "issuer",
    {
        "name": Field(text, doc="Display name of the issuer in Pulumi Cloud (default: <project>-<stack>)."),
        "max_expiration_seconds": _TRUST["max_expiration_seconds"],
        "pin_audience": _TRUST["pin_audience"],
    },
)


@lru_cache(maxsize=4)
def _stack(registry: tuple[str, ...]) -> Spec:
    return Spec(
        NAMESPACE,
        {
            "cloud": required(
                choice(sources()), doc=f"Where the cluster comes from: {', '.join(sources()[:-1])} or {existing.KEY}."
            ),
            "organization": _TRUST["organization"],
            "pod_security_level": replace(
                kubernetes.RESTRICTED_NAMESPACE.fields["pod_security_level"],
                doc="Pod Security Standard of the namespaces this stack creates.",
            ),
            "create_namespaces": Field(
                boolean,
                True,
                "bool",
                doc="Create the workloads' namespaces; false on a cluster whose namespaces others own.",
            ),
            **{cloud.key: Field(kind="object", spec=cloud.spec, doc=cloud.summary) for cloud in clouds.clouds()},
            existing.KEY: Field(
                kind="object", spec=existing.spec(), doc="cloud existing: the cluster someone else runs."
            ),
            "kubeconfig": Field(text, doc="cloud existing: a kubeconfig for the cluster, set as a secret."),
            "login_job": Field(kind="object", spec=LOGIN_JOB, doc="The Job that proves the login on every pulumi up."),
            "issuer": Field(kind="object", spec=ISSUER, doc="The issuer registered in Pulumi Cloud."),
            **{
                kind.field_name: Field(kind="objects", spec=kind.spec(), default=(), doc=kind.summary)
                for kind in kinds.kinds()
            },
        },
    )


def stack() -> Spec:
    """Every ``keyless:*`` key of a stack, as its component specs spell them (each kind's section
    from the kind registry)."""
    return _stack(kinds.version())


DEPRECATED: dict[str, dict[str, str]] = {
    # section → {old key: new key}; the old keys work until 0.3.0 with a warning.
    "": {"runner": "loginJob"},
    "workloads[]": {"runner": "runsLoginJob"},
}
