"""Operator stacks (``keyless:operatorStacks``): a Pulumi Kubernetes Operator ``Stack`` whose
workspace logs in as one of the stack's workloads, with no token (see :mod:`keyless.core.operator`).
It owns no account or namespace: its workload's account, cloud identity and policy are its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from keyless.core import operator
from keyless.core.login_job import lifetime_within_issuer_maximum
from keyless.core.problems import Problem
from keyless.core.pulumi_cloud import LOGIN_TOKEN_TYPES
from keyless.core.spec import Spec, required
from keyless.core.values import duration_seconds, pattern, repeated
from keyless.kinds import Context, Kind, Made, Reading, Request, Section, Subject, workloads
from keyless.kinds.workloads import Workload

if TYPE_CHECKING:
    from keyless.components.keyless_operator_stack import KeylessOperatorStackArgs
    from keyless.record import ProgramRun

workload_ref = pattern(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    "a workload",
    "<namespace>/<serviceAccount> of a keyless:workloads entry",
)

SPEC = operator.OPERATOR_STACK.only(
    "name",
    "stack",
    "project_repo",
    "branch",
    "commit",
    "repo_dir",
    "program_ref",
    "config",
    "environment",
    "resync_frequency_seconds",
    "refresh",
    "destroy_on_finalize",
    "workspace_image",
    "exchanged_token_lifetime",
    "longest_update",
    "refresh_percent",
).extend(
    "operatorStacks",
    {
        "workload": required(
            workload_ref,
            doc="The workload (namespace/serviceAccount) whose account, cloud identity and Pulumi token the "
            "workspace uses.",
        )
    },
    (),
)
"""An Operator stack; the workload it names gives its service account, identity and token."""


@dataclass(frozen=True)
class OperatorStack:
    key: str
    fields: Mapping[str, Any]
    """The Stack's fields (defaults filled in, unset ones left out), its workload's excepted."""
    workload: Workload
    """The workload whose account, identity and token the workspace uses."""

    @property
    def name(self) -> str:
        return str(self.fields["name"])

    @property
    def reference(self) -> str:
        return f"{self.workload.namespace}/{self.name}"

    @property
    def resource_name(self) -> str:
        return f"{self.workload.namespace}.{self.name}"

    def args(self, organization: str) -> KeylessOperatorStackArgs:
        """``KeylessOperatorStack`` args: the Stack's fields, and its workload's account and token."""
        labels = self.workload.pod_labels()
        return cast(
            "KeylessOperatorStackArgs",
            {
                **self.fields,
                **self.workload.login_flags(),
                "namespace": self.workload.namespace,
                "service_account_name": self.workload.service_account,
                "organization": organization,
                **({"pod_labels": labels} if labels else {}),
            },
        )


def read(items: Sequence[tuple[str, Mapping[str, Any]]], reading: Reading) -> tuple[OperatorStack, ...]:
    """An Operator stack runs as a declared workload whose token the CLI can request, for no longer
    than the issuer allows."""
    given = {f"{w.get('namespace')}/{w.get('service_account')}": w for w in reading.given.get(workloads.KIND.key, ())}
    valid = {w.reference: w for w in reading.entries.get(workloads.KIND.key, ())}
    found = []
    for key, item in items:
        values = SPEC.resolved(item)
        named = given.get(item["workload"])
        if named is None:
            reading.problems.append(
                Problem(f"{key}.workload", item["workload"], "names no workload", f"one of: {', '.join(given)}")
            )
        elif named.get("token_type") not in [t.value for t in LOGIN_TOKEN_TYPES]:
            reading.problems.append(
                Problem(
                    f"{key}.workload",
                    item["workload"],
                    f"has tokenType {named.get('token_type')!r}, which the workspace's CLI cannot request",
                    "a workload with tokenType organization, team or personal",
                )
            )
        reading.problems += lifetime_within_issuer_maximum(
            f"{key}.exchangedTokenLifetime",
            values["exchanged_token_lifetime"],
            reading.max_expiration_key,
            reading.max_expiration_seconds,
        )
        workload = valid.get(item["workload"])
        if workload is not None:
            fields = {name: value for name, value in values.items() if name != "workload" and value is not None}
            found.append(OperatorStack(key, fields, workload))
    reading.problems += repeated([(f"{s.key}.name", s.reference) for s in found], "the Stack", "each Stack once")
    return tuple(found)


def create(stacks: Sequence[OperatorStack], context: Context) -> Made:
    """Operator stacks whose workspace logs in as its workload's account (which it waits for)."""
    from keyless.components.keyless_operator_stack import KeylessOperatorStack

    for entry in stacks:
        KeylessOperatorStack(
            entry.resource_name,
            entry.args(context.organization),
            context.in_cluster(depends_on=[context.account(entry.workload.reference)]),
        )
    return Made()


def request(entry: OperatorStack) -> Request:
    """The workspace's sidecar: its workload's token, for the stack's lifetime."""
    flags = entry.workload.login_flags()
    return Request(
        entry.workload.reference,
        flags["token_type"],
        duration_seconds(entry.fields["exchanged_token_lifetime"]),
        f"the Operator stack {entry.reference}'s sidecar",
        team=flags.get("team_name"),
        user=flags.get("user_login"),
    )


def section(run: ProgramRun, tokens: Mapping[tuple[str, str], str]) -> Section | None:
    """Each Operator stack: the Stack, its workspace's service account, the stack it deploys."""
    rows = []
    for r in run.registrations:
        if r.custom and r.type == f"kubernetes:{operator.API_VERSION}:Stack":
            meta, spec = r.plain_inputs.get("metadata") or {}, r.plain_inputs.get("spec") or {}
            namespace = str(meta.get("namespace"))
            rows.append(
                (
                    f"`{namespace}/{meta.get('name')}`",
                    f"`{namespace}/{spec.get('serviceAccountName')}`",
                    f"`{spec.get('stack')}`",
                )
            )
    if not rows:
        return None
    header = ("Stack", "workspace service account (its row above)", "Pulumi stack")
    return Section("Operator stacks", header, sorted(rows))


def spec() -> Spec:
    return SPEC


KIND = Kind(
    key="operatorStacks",
    summary="Pulumi Kubernetes Operator stacks whose workspace logs in as a workload, no token.",
    spec=spec,
    read=read,
    create=create,
    subject=Subject(
        "operator-stack",
        "Operator stack",
        "an Operator stack of the stack config: its workspace's service account is the subject, and the request "
        "is its sidecar's (its workload's token, for the stack's exchangedTokenLifetime)",
        request,
    ),
    controllers=lambda stacks: {
        operator.DEFAULT_OPERATOR_NAMESPACE: "the Pulumi Kubernetes Operator (its install guide's namespace)"
    },
    section=section,
    guardrails=("operator-stack-holds-no-access-token",),
    component="KeylessOperatorStack",
)
