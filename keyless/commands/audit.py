"""keyless audit --live: what Pulumi Cloud holds for the organization's issuers, against the stack."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND, EXIT_OK, add_json, add_root, add_stack

if TYPE_CHECKING:
    from keyless.audit.findings import Declared

NAME = "audit"
SUMMARY = "compare the issuers and policies Pulumi Cloud holds with the stack's; exit 1 on a difference"
DESCRIPTION = """\
Read the organization's OIDC issuers and their policies from Pulumi Cloud (read-only, with your own
`pulumi login` or PULUMI_ACCESS_TOKEN; listing issuers needs an organization admin) and compare them
with what the stack registers: its issuer missing, a policy edited or added outside the stack (or
left behind by the provider), a policy the stack declares but Pulumi Cloud lacks, a lifetime above
the stack's; and, for every issuer of the organization, allow rules that pin no subject, issuers no
committed stack manages and issuers unused for --unused-days. Prints the live access: who can
obtain which Pulumi token. Exit 1 on any finding. --live says you mean to call Pulumi Cloud (the
other commands never do).

example:
  keyless audit --live --stack dev
  PULUMI_ACCESS_TOKEN=... keyless audit --live --stack eks-dev --json"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--live", action="store_true", help="read Pulumi Cloud (required: the audit calls its API)")
    add_stack(parser)
    add_root(parser)
    parser.add_argument("--backend-url", help="Pulumi Cloud API (default: PULUMI_BACKEND_URL, else your login's)")
    parser.add_argument(
        "--unused-days", type=int, default=None, metavar="N", help="flag issuers unused for N days (default 90)"
    )
    add_json(parser)


class CannotRun(Exception):
    """The audit cannot reach a verdict: bad arguments, a bad stack, or Pulumi Cloud unread."""


def run(args: argparse.Namespace) -> int:
    from keyless.audit.live import CannotRead

    try:
        return _run(args)
    except (CannotRun, CannotRead) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except ModuleNotFoundError as error:
        if error.name != "pulumi_cloud_sdk":
            raise
        print(
            "error: keyless audit needs Pulumi's REST client: pip install 'keyless-k8s-pulumi[audit]'", file=sys.stderr
        )
        return EXIT_CANNOT_RUN


def _run(args: argparse.Namespace) -> int:
    from keyless.audit import findings, live
    from keyless.commands.flags import root_of
    from keyless.config.read import stack_names

    if not args.live:
        raise CannotRun("keyless audit reads Pulumi Cloud's live state: add --live to say so")
    if args.unused_days is not None and args.unused_days < 1:
        raise CannotRun(f"--unused-days: {args.unused_days} is not accepted; expected a number of days, at least 1")
    root = root_of(args)
    declared = _declared(args.stack, root)
    managed = [declared]
    notes: list[str] = []
    for other in stack_names(root):
        if other != args.stack:
            try:
                managed.append(_declared(other, root))
            except CannotRun as error:
                notes.append(f"stack {other!r} is left out of 'managed': {error}")
    credentials = live.login(args.backend_url)
    organization = live.read(declared.organization, credentials)
    issuer, found = findings.compare(declared, organization)
    days = args.unused_days or findings.DEFAULT_UNUSED_DAYS
    same_org = [stack for stack in managed if stack.organization == declared.organization]
    found += findings.across_the_organization(organization, same_org, datetime.now(UTC), days)
    access = _access(organization)
    if args.json:
        print(json.dumps(_document(args.stack, credentials, organization, issuer, found, access, notes), indent=2))
    else:
        _print(args.stack, credentials, organization, issuer, found, access, notes)
    return EXIT_FOUND if found else EXIT_OK


def _declared(stack: str, root: Path) -> Declared:
    """The stack's issuer as its ``PulumiCloudTrust`` registers it."""
    from keyless.audit.findings import Declared
    from keyless.config.read import StackFileError
    from keyless.core.problems import InvalidArgumentError
    from keyless.doctor import reference
    from keyless.kinds.workflow_runners import POOL_STAND_IN

    try:
        stack_reference = reference.load(stack, root)
    except (InvalidArgumentError, FileNotFoundError, StackFileError) as error:
        raise CannotRun(f"stack {stack!r}: {error}") from None
    issuer = stack_reference.issuer
    return Declared(
        stack=stack,
        organization=stack_reference.organization,
        name=stack_reference.config.issuer.name,
        url=issuer.url,
        max_expiration_seconds=stack_reference.max_expiration_seconds,
        policies=tuple(stack_reference.policies),
        matches_shape=None if issuer.url else issuer.shape_matches,
        stand_ins=frozenset({POOL_STAND_IN}),
    )


def _access(organization: Any) -> list[dict[str, str]]:
    """Who can obtain what, from the live policies: issuer, service account, token, role name."""
    from keyless.audit.findings import whom
    from keyless.policies.access_map import token_of

    rows = []
    for issuer in organization.issuers:
        for policy in issuer.policies:
            token = token_of(policy)[0]
            role = policy.get("roleID")
            if role in organization.roles:
                token = token.replace(str(role), f"{organization.roles[role]} ({role})")
            used = issuer.last_used.date().isoformat() if issuer.last_used else "never"
            rows.append(
                {
                    "issuer": issuer.name,
                    "decision": str(policy.get("decision", "allow")),
                    "serviceAccount": whom(policy),
                    "token": token,
                    "issuerLastUsed": used,
                }
            )
    return rows


def _document(
    stack: str, credentials: Any, organization: Any, issuer: Any, found: list[Any], access: list[Any], notes: list[str]
) -> dict[str, Any]:
    return {
        "stack": stack,
        "organization": organization.name,
        "backendUrl": credentials.backend_url,
        "issuer": None if issuer is None else {"id": issuer.id, "name": issuer.name, "url": issuer.url},
        "findings": [{"code": f.code.value, "issuer": f.issuer, "message": f.message} for f in found],
        "access": access,
        "notes": notes,
    }


def _print(
    stack: str, credentials: Any, organization: Any, issuer: Any, found: list[Any], access: list[Any], notes: list[str]
) -> None:
    where = f"{organization.name} at {credentials.backend_url} (credentials: {credentials.source})"
    mine = "not registered" if issuer is None else f"{issuer.name} ({issuer.id}), {issuer.url}"
    print(f"{'clean' if not found else f'{len(found)} finding(s)'}: stack {stack}, organization {where}")
    print(f"  the stack's issuer: {mine}")
    for finding in found:
        print(f"  {finding.code.value}: {finding.issuer}: {finding.message}")
    print("\nWho can obtain what, as Pulumi Cloud holds it:\n")
    print("| issuer | decision | service account | Pulumi token | issuer last used |")
    print("| --- | --- | --- | --- | --- |")
    for row in access:
        print(
            f"| {row['issuer']} | {row['decision']} | `{row['serviceAccount']}` | {row['token']} | {row['issuerLastUsed']} |"
        )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
