"""Workflow runners (``keyless:workflowRunners``): customer-managed workflow runner agents that
exchange their own service account's token for a runner token of their pool, and the worker
account their workflow pods run as, with a cloud identity (see :mod:`keyless.core.runner`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from keyless import identity
from keyless.core import runner
from keyless.core.login_job import lifetime_within_issuer_maximum
from keyless.core.naming import workload_resource_name
from keyless.core.problems import Problem
from keyless.core.spec import Spec
from keyless.core.values import duration_seconds
from keyless.kinds import (
    ALLOW_RESERVED_NAMESPACE,
    Account,
    Context,
    Kind,
    Made,
    NamespaceUse,
    Reading,
    Request,
    Section,
    Subject,
    mode_of,
    version,
)
from keyless.kinds.workloads import identity_mode_field

if TYPE_CHECKING:
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunnerArgs
    from keyless.record import ProgramRun

POOL_STAND_IN = "pool-created-by-this-stack"
"""The runner id of a pool the stack creates, where its id is not needed (the doctor's policies)."""
WHOSE = "its worker's"


@lru_cache(maxsize=4)
def _spec(registry: tuple[str, ...]) -> Spec:
    return runner.WORKFLOW_RUNNER.only(
        "namespace",
        "name",
        "pool_id",
        "pool_name",
        "single_run",
        "replicas",
        "image",
        "token_expiration",
        "token_expiration_seconds",
        "run_as_user",
        "worker_service_account",
        "workflow_egress_ports",
    ).extend(
        "workflowRunners",
        {
            "identity_mode": identity_mode_field("the worker (the account the workflow pods run as)"),
            # Not the fields of modes whose pods need a label: the agent starts the workflow pods.
            **{name: each for mode in identity.modes() if not mode.pod_labels for name, each in mode.fields.items()},
            "allow_reserved_namespace": ALLOW_RESERVED_NAMESPACE,
        },
    )


def spec() -> Spec:
    """A workflow runner's keys: its pool and agents, and its worker's identity mode and that mode's
    fields (as on a workload). Its organization is the stack's (keyless:organization)."""
    return _spec(version())


@dataclass(frozen=True)
class WorkflowRunner:
    """A workflow runner: its ``KeylessWorkflowRunner`` args but the organization, and the cloud
    identity of its worker (the account the workflow pods run as)."""

    key: str
    args: Mapping[str, Any]
    identity_mode: str | None = None
    identity_settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return str(self.args["namespace"])

    @property
    def name(self) -> str:
        return str(self.args["name"])

    @property
    def reference(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def worker(self) -> str:
        return runner.worker_service_account(self.name, self.args.get("worker_service_account"))

    @property
    def resource_name(self) -> str:
        return workload_resource_name(self.namespace, self.name)

    @property
    def worker_account(self) -> Account:
        return Account(self.key, self.namespace, self.worker, self.identity_mode, self.identity_settings)

    def component_args(
        self, organization: str, worker_annotations: Mapping[str, Any] | None
    ) -> KeylessWorkflowRunnerArgs:
        """``KeylessWorkflowRunner`` args; ``worker_annotations`` are its worker's identity's, and the
        workflow pods may reach its identity mode's credential endpoint."""
        args = {key: value for key, value in self.args.items() if value is not None}
        if worker_annotations:
            args["worker_annotations"] = dict(worker_annotations)
        mode = identity.get(self.identity_mode) if self.identity_mode else None
        if mode is not None and mode.credential_endpoint is not None:
            args["credential_endpoints"] = [mode.credential_endpoint]
        return cast("KeylessWorkflowRunnerArgs", {**args, "organization": organization})


def read(items: Sequence[tuple[str, Mapping[str, Any]]], reading: Reading) -> tuple[WorkflowRunner, ...]:
    """A runner's worker takes an identity mode of the stack's cloud whose pods need no label (the
    agent starts them); its agents' tokens live no longer than the issuer allows."""
    found = []
    for key, item in items:
        mode = mode_of(item, reading.identity_cloud)
        if mode is not None and mode.pod_labels:
            reading.problems.append(
                Problem(
                    f"{key}.identityMode",
                    mode.name,
                    f"needs the label {', '.join(f'{k}={v}' for k, v in mode.pod_labels.items())} on the pods that "
                    "use it, and the agent starts the workflow pods from its own spec, which this stack cannot label",
                    "a runner on a cluster whose mode needs no pod label, or the label set in the agent's worker "
                    "pod template by hand",
                )
            )
        name, settings = reading.identity(key, item, WHOSE)
        values = spec().resolved(item)
        reading.problems += lifetime_within_issuer_maximum(
            f"{key}.tokenExpiration",
            values["token_expiration"],
            reading.max_expiration_key,
            reading.max_expiration_seconds,
        )
        args = {field: values[field] for field in runner.WORKFLOW_RUNNER.fields if field in values}
        found.append(WorkflowRunner(key, args, name, settings))
    return tuple(found)


def create(runners: Sequence[WorkflowRunner], context: Context) -> Made:
    """Workflow runners whose agents exchange their own token; the issuer's policy names each pool
    (known once created, when the stack creates it)."""
    from keyless.components.keyless_workflow_runner import KeylessWorkflowRunner

    made = Made()
    for entry in runners:
        worker = context.cloud_identity(entry.worker_account)
        args = entry.component_args(context.organization, None if worker is None else worker.annotations)
        created = KeylessWorkflowRunner(entry.resource_name, args, context.in_namespace(entry.namespace))
        made.policies.append(runner.runner_policy(entry.namespace, entry.name, created.pool_id))
    return made


def request(entry: WorkflowRunner) -> Request:
    """The agent itself: a runner token, unlike anything the CLI requests."""
    return Request(
        entry.reference,
        "runner",
        duration_seconds(entry.args["token_expiration"]),
        f"the workflow runner {entry.reference}'s agent",
    )


def section(run: ProgramRun, tokens: Mapping[tuple[str, str], str]) -> Section | None:
    """Each runner's agents: the Deployment or Job, their service account, the pool, and the worker
    account their workflow pods run as."""
    from keyless.policies.pack import containers, pod_spec

    rows = []
    for r in run.registrations:
        pod = pod_spec(r.type, r.plain_inputs) if r.custom else {}
        for container in containers(pod):
            env = {v.get("name"): v.get("value") for v in container.get("env") or [] if isinstance(v, Mapping)}
            if "PULUMI_AGENT_RUNNER_POOL_ID" in env:
                meta = r.plain_inputs.get("metadata") or {}
                namespace = meta.get("namespace")
                rows.append(
                    (
                        f"{r.type.rsplit(':', 1)[-1]} {namespace}/{meta.get('name')}",
                        f"`{namespace}/{pod.get('serviceAccountName')}`",
                        f"`{env['PULUMI_AGENT_RUNNER_POOL_ID']}`",
                        f"`{namespace}/{env.get('PULUMI_AGENT_SERVICE_ACCOUNT_NAME')}`",
                    )
                )
    if not rows:
        return None
    header = (
        "agents",
        "agent service account (its row above)",
        "runner pool",
        "workflow pods run as (its row above)",
    )
    return Section("Workflow runners", header, sorted(rows))


KIND = Kind(
    key="workflowRunners",
    summary="Customer-managed workflow runners whose agents exchange their own token, no pool token.",
    spec=spec,
    read=read,
    create=create,
    accounts=lambda r: (Account(r.key, r.namespace, r.name), r.worker_account),
    namespaces=lambda r: (
        NamespaceUse(
            r.key,
            r.namespace,
            alone="the agents may start pods as any service account of their namespace, and so act as that workload",
            # The agent starts its workflow pods from its own pod spec, which sets no security
            # context: the restricted standard would refuse every one.
            pod_security_level="baseline",
            allowed=bool(r.args["allow_reserved_namespace"]),
        ),
    ),
    policies=lambda r: (runner.runner_policy(r.namespace, r.name, r.args.get("pool_id") or POOL_STAND_IN),),
    subject=Subject(
        "runner",
        "workflow runner",
        "a workflow runner of the stack: its agents' service account is the subject, and the request is the "
        "agent's own (a runner token for its pool, for the runner's tokenExpiration)",
        request,
    ),
    section=section,
    guardrails=("workflow-runner-exchanges-its-token",),
    component="KeylessWorkflowRunner",
)
