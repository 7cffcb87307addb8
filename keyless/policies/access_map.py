"""Who can obtain what: per workload, its Kubernetes service account → the Pulumi token its policy
grants → its cloud identity and what that identity may do (each identity mode reads its own, see
:mod:`keyless.identity`). Broad grants are flagged."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyless import identity, kinds
from keyless.core.exchange import pinned_account
from keyless.core.login_job import ESC_ENVIRONMENTS_VARIABLE
from keyless.policies.pack import ISSUER, SERVICE_ACCOUNT, containers, pod_spec
from keyless.record import ProgramRun

BROAD_GRANTS = re.compile(r"(AdministratorAccess|PowerUserAccess|IAMFullAccess|roles/owner|roles/editor)$")


@dataclass
class Row:
    account: str
    token: str = "none"
    identity: str = "none"
    grants: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def token_of(policy: Mapping[str, Any]) -> tuple[str, list[str]]:
    """What an issuer policy grants, as a reader says it, and what about it is broad."""
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
            text, flags = token_of(policy)
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


def tokens(run: ProgramRun) -> dict[tuple[str, str], str]:
    """The Pulumi token each service account an issuer policy pins can obtain."""
    found = {}
    for issuer in (r for r in run.registrations if r.custom and r.type == ISSUER):
        for policy in issuer.plain_inputs.get("policies") or []:
            account = pinned_account(policy.get("rules") or {})
            if account is not None:
                found[account] = token_of(policy)[0]
    return found


def sections(run: ProgramRun) -> list[kinds.Section]:
    """Each kind's part of the map, in the registry's order."""
    found = tokens(run)
    return [part for kind in kinds.kinds() if kind.section for part in [kind.section(run, found)] if part is not None]


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
    for part in sections(run):
        lines += part.markdown()
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
