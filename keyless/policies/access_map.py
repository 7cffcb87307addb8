"""Who can obtain what: per workload, its Kubernetes service account → the Pulumi token its policy
grants → its cloud identity and what that identity may do (each identity mode reads its own, see
:mod:`keyless.identity`). Broad grants are flagged."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyless import identity
from keyless.core.exchange import pinned_account
from keyless.core.login_job import ESC_ENVIRONMENTS_VARIABLE
from keyless.policies.pack import ESC_STORES_POLICY_TYPES, ISSUER, SERVICE_ACCOUNT, containers, pod_spec
from keyless.record import ProgramRun

BROAD_GRANTS = re.compile(r"(AdministratorAccess|PowerUserAccess|IAMFullAccess|roles/owner|roles/editor)$")


@dataclass
class Row:
    account: str
    token: str = "none"
    identity: str = "none"
    grants: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _token(policy: Mapping[str, Any]) -> tuple[str, list[str]]:
    kind = str(policy.get("tokenType"))
    flags = []
    if kind == "team":
        text = f"team token ({policy.get('teamName')})"
    elif kind == "personal":
        text = f"personal token ({policy.get('userLogin')})"
    elif kind == "runner":
        text = f"runner token ({policy.get('runnerID') or policy.get('runnerId')})"
    elif policy.get("roleID") or policy.get("roleId"):
        text = f"organization token, role {policy.get('roleID') or policy.get('roleId')}"
    else:
        permissions = policy.get("authorizedPermissions") or []
        text = f"organization token, permissions {permissions} (legacy)"
        if "admin" in permissions:
            flags.append("organization admin")
    rules = policy.get("rules") or {}
    if any(isinstance(v, str) and ("*" in v or "?" in v) for v in rules.values()):
        flags.append("wildcard in the issuer policy")
    return text, flags


def rows(run: ProgramRun) -> tuple[list[Row], list[str]]:
    """One row per service account the stack declares, and the issuer policies that match none."""
    registrations = [r for r in run.registrations if r.custom]
    table: dict[tuple[str, str], Row] = {}
    for r in registrations:
        if r.type == SERVICE_ACCOUNT:
            meta = r.plain_inputs.get("metadata", {})
            key = (str(meta.get("namespace")), str(meta.get("name")))
            table.setdefault(key, Row(f"{key[0]}/{key[1]}"))
    orphans = []
    for issuer in (r for r in registrations if r.type == ISSUER):
        for index, policy in enumerate(issuer.plain_inputs.get("policies") or []):
            account = pinned_account(policy.get("rules") or {})
            if account is None or account not in table:
                orphans.append(
                    f"{issuer.name} policies[{index}] ({policy.get('tokenType')}) matches no declared workload"
                )
                continue
            text, flags = _token(policy)
            table[account].token = text
            table[account].flags += flags
    for mode in identity.modes():  # each mode reads its own identities and grants
        for key, access in mode.describe(registrations).items():
            if key in table:
                table[key].identity = access.identity
                table[key].grants += access.grants
    for row in table.values():
        row.grants = sorted(set(row.grants))
        row.flags = sorted(set(row.flags)) + [
            f"broad grant {grant}" for grant in row.grants if BROAD_GRANTS.search(grant)
        ]
    return sorted(table.values(), key=lambda row: row.account), sorted(orphans)


@dataclass
class Store:
    """An ESC store: which account reads which environment, for which Pulumi token."""

    store: str
    account: str
    environment: str
    token: str = "no policy on the issuer"


def stores(run: ProgramRun) -> list[Store]:
    """Each External Secrets store for Pulumi ESC: store → service account → token → environment."""
    registrations = [r for r in run.registrations if r.custom]
    tokens: dict[tuple[str, str], str] = {}
    for issuer in (r for r in registrations if r.type == ISSUER):
        for policy in issuer.plain_inputs.get("policies") or []:
            account = pinned_account(policy.get("rules") or {})
            if account is not None:
                tokens[account] = _token(policy)[0]
    found = []
    for r in registrations:
        if r.type not in ESC_STORES_POLICY_TYPES:
            continue
        inputs = r.plain_inputs
        provider = (inputs.get("spec") or {}).get("provider", {}).get("pulumi") or {}
        reference = ((provider.get("auth") or {}).get("oidcConfig") or {}).get("serviceAccountRef") or {}
        meta = inputs.get("metadata") or {}
        namespace = str(reference.get("namespace") or meta.get("namespace") or "")
        account = (namespace, str(reference.get("name") or "(an access token)"))
        found.append(
            Store(
                store=f"{inputs.get('kind')} {meta.get('namespace', '-')}/{meta.get('name')}",
                account=f"{account[0]}/{account[1]}",
                environment=f"{provider.get('organization')}/{provider.get('project')}/{provider.get('environment')}",
                token=tokens.get(account, Store.token),
            )
        )
    return sorted(found, key=lambda store: store.store)


def operator_stacks(run: ProgramRun) -> list[tuple[str, str, str]]:
    """Each Operator stack: (Stack, its workspace's service account, the stack it deploys)."""
    found = []
    for r in run.registrations:
        if r.custom and r.type == "kubernetes:pulumi.com/v1:Stack":
            inputs = r.plain_inputs
            meta, spec = inputs.get("metadata") or {}, inputs.get("spec") or {}
            namespace = str(meta.get("namespace"))
            found.append(
                (
                    f"{namespace}/{meta.get('name')}",
                    f"{namespace}/{spec.get('serviceAccountName')}",
                    str(spec.get("stack")),
                )
            )
    return sorted(found)


def workflow_runners(run: ProgramRun) -> list[tuple[str, str, str, str]]:
    """Each workflow runner's agents: (Deployment or Job, their service account, the pool, the worker
    account their workflow pods run as)."""
    found = []
    for r in run.registrations:
        pod = pod_spec(r.type, r.plain_inputs) if r.custom else {}
        for container in containers(pod):
            env = {v.get("name"): v.get("value") for v in container.get("env") or [] if isinstance(v, Mapping)}
            if "PULUMI_AGENT_RUNNER_POOL_ID" in env:
                namespace = (r.plain_inputs.get("metadata") or {}).get("namespace")
                found.append(
                    (
                        f"{r.type.rsplit(':', 1)[-1]} {namespace}/{(r.plain_inputs.get('metadata') or {}).get('name')}",
                        f"{namespace}/{pod.get('serviceAccountName')}",
                        str(env["PULUMI_AGENT_RUNNER_POOL_ID"]),
                        f"{namespace}/{env.get('PULUMI_AGENT_SERVICE_ACCOUNT_NAME')}",
                    )
                )
    return sorted(found)


def opened_environments(run: ProgramRun) -> list[tuple[str, str, list[str]]]:
    """Each Job that opens ESC environments (the login Job): (its Pulumi resource, its service account,
    environments). The Job itself is auto-named, so the resource names it."""
    found = []
    for r in run.registrations:
        if r.custom and r.type == "kubernetes:batch/v1:Job":
            pod = pod_spec(r.type, r.plain_inputs)
            account = f"{(r.plain_inputs.get('metadata') or {}).get('namespace')}/{pod.get('serviceAccountName')}"
            found += [
                (r.name, account, str(variable.get("value") or "").split())
                for container in containers(pod)
                for variable in container.get("env") or []
                if variable.get("name") == ESC_ENVIRONMENTS_VARIABLE
            ]
    return sorted(found)


def _label(text: str) -> str:
    """Text for a Mermaid label: its HTML-like markup is escaped, as are quotes."""
    return html.escape(text, quote=True)


def render(run: ProgramRun, stack: str) -> str:
    table, orphans = rows(run)
    lines = [
        f"# Access map: {stack}",
        "",
        "Per workload: the Kubernetes service account, the Pulumi token it can obtain, its cloud identity",
        "and what that identity may do. ⚠ marks a broad grant.",
        "",
        "| service account | Pulumi token | cloud identity | cloud permissions | flags |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in table:
        flags = ", ".join(f"⚠ {flag}" for flag in row.flags) or "—"
        lines.append(f"| `{row.account}` | {row.token} | {row.identity} | {', '.join(row.grants) or '—'} | {flags} |")
    if orphans:
        lines += ["", *[f"- ⚠ {orphan}" for orphan in orphans]]
    operators = operator_stacks(run)
    if operators:
        lines += [
            "",
            "## Operator stacks",
            "",
            "| Stack | workspace service account (its row above) | Pulumi stack |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{name}` | `{account}` | `{stack}` |" for name, account, stack in operators]
    runners = workflow_runners(run)
    if runners:
        lines += [
            "",
            "## Workflow runners",
            "",
            "| agents | agent service account (its row above) | runner pool | workflow pods run as (its row above) |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {agents} | `{account}` | `{pool}` | `{worker}` |" for agents, account, pool, worker in runners]
    esc = stores(run)
    if esc:
        lines += [
            "",
            "## ESC stores",
            "",
            "| store | service account | Pulumi token | ESC environment |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {s.store} | `{s.account}` | {s.token} | `{s.environment}` |" for s in esc]
    opened = opened_environments(run)
    if opened:
        lines += [
            "",
            "## ESC environments the login Job opens",
            "",
            "| Job resource (and its canary) | service account (its row above) | ESC environments |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{job}` | `{account}` | {', '.join(f'`{e}`' for e in environments)} |"
            for job, account, environments in opened
        ]
    lines += ["", "```mermaid", "graph LR"]
    for index, row in enumerate(table):
        lines.append(f'  sa{index}["{_label(row.account)}"] -->|Pulumi Cloud| token{index}["{_label(row.token)}"]')
        if row.identity != "none":
            grants = "<br/>".join(_label(grant) for grant in row.grants) or "no grants"
            lines.append(f'  sa{index} -->|cloud| id{index}["{_label(row.identity)}<br/>{grants}"]')
    lines += ["```", ""]
    return "\n".join(lines)
