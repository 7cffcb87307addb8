"""Workloads (``keyless:workloads``): a Kubernetes service account with its Pulumi Cloud policy and
its cloud identity. One of them may run the stack's login Job; Operator stacks run as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from keyless import clouds, identity
from keyless.core import esc
from keyless.core.naming import earlier_workload_names, workload_resource_name
from keyless.core.problems import MISSING, Problem
from keyless.core.pulumi_cloud import LOGIN_TOKEN_TYPES, WORKLOAD_POLICY, TokenType
from keyless.core.spec import Field, Spec
from keyless.core.values import boolean, choice, list_of
from keyless.kinds import ALLOW_RESERVED_NAMESPACE, Account, Context, Kind, Made, NamespaceUse, Reading, version

WHOSE = "this workload's"


def identity_mode_field(whose: str = "the workload") -> Field:
    """``identityMode``: the modes each identity cloud offers, its default first."""
    offered = {cloud.key: [mode.name for mode in identity.offered(cloud.key)] for cloud in clouds.clouds()}
    described = "; ".join(f"{cloud.upper()}: {' or '.join(names)}" for cloud, names in offered.items() if names)
    return Field(
        choice(mode.name for mode in identity.modes()),
        doc=f"How {whose} gets its cloud identity ({described}; the first is the default). See docs/identities.md.",
    )


@lru_cache(maxsize=4)
def _spec(registry: tuple[str, ...]) -> Spec:
    return WORKLOAD_POLICY.extend(
        "workload",
        {
            "runs_login_job": Field(
                boolean,
                False,
                "bool",
                doc="The login Job runs as this workload's service account (at most one workload).",
            ),
            "esc_environments": Field(
                list_of(esc.project_environment),
                (),
                "list",
                doc="ESC environments (<project>/<environment>) the login Job opens as this workload, values "
                "discarded, to prove its token can read them (only with runsLoginJob).",
            ),
            "identity_mode": identity_mode_field(),
            **identity.fields(),
            "allow_reserved_namespace": ALLOW_RESERVED_NAMESPACE,
        },
    )


def spec() -> Spec:
    """A workload's keys: its issuer policy, the login Job, its identity mode and that mode's fields
    (from the identity-mode registry)."""
    return _spec(version())


@dataclass(frozen=True)
class Workload:
    """One Kubernetes service account: its Pulumi Cloud policy and its cloud identity."""

    key: str
    policy: dict[str, Any]
    """``WorkloadPolicy`` args: namespace, service_account, token_type and its companion."""
    runs_login_job: bool = False
    esc_environments: tuple[str, ...] = ()
    """ESC environments (``<project>/<environment>``) the login Job opens as this workload."""
    identity_mode: str | None = None
    """The name of its identity mode (:mod:`keyless.identity`); None without a cloud identity."""
    identity_settings: Mapping[str, Any] = field(default_factory=dict)
    """Its identity mode's own fields (snake_case, defaults filled in)."""
    earlier_resource_name: str | None = field(default=None, compare=False)
    """The name stacks deployed before the "." join gave this workload's resources (an alias)."""
    allow_reserved_namespace: bool = False

    @property
    def namespace(self) -> str:
        return str(self.policy["namespace"])

    @property
    def service_account(self) -> str:
        return str(self.policy["service_account"])

    @property
    def reference(self) -> str:
        return f"{self.namespace}/{self.service_account}"

    @property
    def token_type(self) -> str:
        return str(self.policy["token_type"])

    @property
    def resource_name(self) -> str:
        return workload_resource_name(self.namespace, self.service_account)

    @property
    def account(self) -> Account:
        return Account(
            self.key,
            self.namespace,
            self.service_account,
            self.identity_mode,
            self.identity_settings,
            self.earlier_resource_name,
        )

    def pod_labels(self) -> dict[str, str]:
        """Labels its identity mode needs on its pods (e.g. Azure's webhook selects pods by one)."""
        return dict(identity.get(self.identity_mode).pod_labels) if self.identity_mode else {}

    def login_flags(self) -> dict[str, Any]:
        """Its token type and its team/user, as the login's args (``OidcLoginJob``, the sidecar)."""
        flags = {"token_type": self.token_type}
        for name in ("team_name", "user_login"):
            if self.policy.get(name) is not None:
                flags[name] = self.policy[name]
        return flags


def _login_problems(key: str, values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    token_type = values.get("token_type")
    logins = [t.value for t in LOGIN_TOKEN_TYPES]
    if values.get("runs_login_job") is True and token_type in [t.value for t in TokenType] and token_type not in logins:
        problems.append(
            Problem(
                f"{key}.runsLoginJob",
                True,
                f"is not accepted with tokenType {token_type!r}",
                f"it only on workloads whose tokenType the login can request ({', '.join(logins)}): runner "
                "tokens are for deployment agents",
            )
        )
    if values.get("esc_environments") and values.get("runs_login_job") is not True:
        problems.append(
            Problem(
                f"{key}.escEnvironments",
                values["esc_environments"],
                "is not accepted without runsLoginJob: true",
                "it on the workload the login Job runs as (it opens them with that workload's token)",
            )
        )
    return problems


def read(items: Sequence[tuple[str, Mapping[str, Any]]], reading: Reading) -> tuple[Workload, ...]:
    found = []
    for key, item in items:
        reading.problems += _login_problems(key, item)
        mode, settings = reading.identity(key, item, WHOSE)
        values = spec().resolved(item)
        policy = {name: values[name] for name in WORKLOAD_POLICY.fields if values.get(name) is not None}
        if "authorized_permissions" in policy:
            policy["authorized_permissions"] = list(policy["authorized_permissions"])
        found.append(
            Workload(
                key,
                policy,
                runs_login_job=bool(values["runs_login_job"]),
                esc_environments=tuple(values["esc_environments"]),
                identity_mode=mode,
                identity_settings=settings,
                allow_reserved_namespace=bool(values["allow_reserved_namespace"]),
            )
        )
    login = [int(w.key.rsplit("[", 1)[1].rstrip("]")) for w in found if w.runs_login_job]
    if len(login) > 1:
        prefix = found[0].key.rsplit("[", 1)[0]
        reading.problems.append(
            Problem(prefix, MISSING, f"runsLoginJob: true is set on workloads {login}", "it on at most one workload")
        )
    earlier = earlier_workload_names([(w.namespace, w.service_account) for w in found])
    return tuple(replace(w, earlier_resource_name=earlier[(w.namespace, w.service_account)]) for w in found)


def create(workloads: Sequence[Workload], context: Context) -> Made:
    """Per workload: its cloud identity (by its identity mode), and its ServiceAccount annotated for it."""
    from keyless.components._common import stack_aliases
    from keyless.components.workload_service_account import WorkloadServiceAccount, WorkloadServiceAccountArgs

    made = Made()
    identities: dict[str, Any] = {}
    for workload in workloads:
        args: WorkloadServiceAccountArgs = {
            "namespace": context.namespace(workload.namespace),
            "name": workload.service_account,
        }
        created = context.cloud_identity(workload.account)
        if created is not None and created.annotations:
            args["annotations"] = created.annotations
        if workload.allow_reserved_namespace:
            args["allow_reserved_namespace"] = True
        identities[workload.reference] = None if created is None else created.identity
        # Its earlier name is an alias: a stack deployed before the "." join moves the component.
        aliases = stack_aliases("WorkloadServiceAccount", workload.earlier_resource_name)
        made.accounts[workload.reference] = WorkloadServiceAccount(
            workload.resource_name, args, context.in_cluster(aliases=aliases)
        )
        made.policies.append(dict(workload.policy))
    made.outputs["workloads"] = [
        {
            "namespace": w.namespace,
            "serviceAccount": w.service_account,
            "tokenType": w.token_type,
            "cloudIdentity": identities[w.reference],
        }
        for w in workloads
    ]
    return made


def login_workload(workloads: Sequence[Workload]) -> Workload | None:
    """The workload the login Job runs as, if one does."""
    return next((w for w in workloads if w.runs_login_job), None)


KIND = Kind(
    key="workloads",
    summary="The Kubernetes service accounts that get keyless access, each with its Pulumi token.",
    spec=spec,
    read=read,
    create=create,
    accounts=lambda w: (w.account,),
    namespaces=lambda w: (NamespaceUse(w.key, w.namespace, allowed=w.allow_reserved_namespace),),
    policies=lambda w: (dict(w.policy),),
    guardrails=(
        "issuer-policy-pins-the-subject",
        "organization-token-names-a-role",
        "issuer-trust-matches-declared-workloads",
    ),
    component="WorkloadPolicy",
)

__all__ = ["KIND", "Workload", "identity_mode_field", "login_workload"]
