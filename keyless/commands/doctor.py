"""keyless doctor: why Pulumi Cloud would refuse (or admit) a workload's token exchange.

The command line around :func:`keyless.doctor.findings.diagnose`. The token is never printed:
the output holds claims, codes and sentences only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from keyless import kinds
from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND, EXIT_LIKELY, EXIT_OK, add_json, add_root, add_stack
from keyless.core.exchange import Request
from keyless.core.values import duration_seconds

NAME = "doctor"
SUMMARY = "say why Pulumi Cloud would refuse (or admit) a workload's token exchange"
DESCRIPTION = """\
Check a workload's service-account token against the stack's own issuer and policies, offline,
and name each reason Pulumi Cloud would refuse it: the claim and the policy that differ. Each
reason says its basis: "documented" (Pulumi's or the standards' pages say so) or "assumed"
(behaviour Pulumi Cloud does not document). The verdict is admitted (exit 0), refused (exit 1),
or likely-refused (exit 3, only assumed reasons).

examples:
  keyless doctor --stack dev --from-cluster --workload pulumi-runner/runner
  kubectl create token runner -n pulumi-runner --audience urn:pulumi:org:acme \\
    | keyless doctor --stack dev --token-file - --json"""


def configure(parser: argparse.ArgumentParser) -> None:
    add_stack(parser)
    add_root(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--token-file", metavar="PATH", help="a JWT, e.g. from `kubectl create token`; '-' reads stdin")
    source.add_argument(
        "--from-cluster", action="store_true", help="mint a token through the TokenRequest API (needs --workload)"
    )
    source.add_argument(
        "--claims-file", metavar="PATH", help="claims as JSON, or the 'iss: …' lines the login Job logs"
    )
    parser.add_argument("--workload", metavar="NS/SA", help="with --from-cluster: the service account to mint for")
    agent = parser.add_mutually_exclusive_group()
    for kind in kinds.kinds():
        if kind.subject is not None:
            agent.add_argument(f"--{kind.subject.flag}", metavar="NS/NAME", help=kind.subject.help)
    parser.add_argument("--kubeconfig", help="with --from-cluster: kubeconfig file (default: the usual one)")
    parser.add_argument("--context", help="with --from-cluster: kubeconfig context (default: the current one)")
    parser.add_argument("--issuer-url", help="the issuer as deployed, e.g. $(pulumi stack output issuerUrl)")
    parser.add_argument(
        "--token-type", choices=["organization", "team", "personal", "runner"], help="override the request"
    )
    parser.add_argument("--team", help="override the request: the team of --oidc-team")
    parser.add_argument("--user", help="override the request: the user of --oidc-user")
    parser.add_argument("--expiration", help="override the request: --oidc-expiration, e.g. 2h")
    parser.add_argument(
        "--check-issuer", action="store_true", help="also fetch the issuer's keys over HTTPS and verify the signature"
    )
    add_json(parser)


class CannotRun(Exception):
    """The doctor cannot reach a verdict: bad arguments, an unreadable token, a bad stack."""


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise CannotRun(f"cannot read {path}: {error.strerror}") from error


def _workload(text: str) -> tuple[str, str]:
    namespace, separator, account = text.partition("/")
    if not separator or not namespace or not account or "/" in account:
        raise CannotRun(f"--workload: {text!r} is not accepted; expected NAMESPACE/SERVICE-ACCOUNT")
    return namespace, account


def _request(args: argparse.Namespace, default: dict[str, Any]) -> Request:
    lifetime = default.get("lifetime_seconds")
    if args.expiration is not None:
        lifetime = duration_seconds(args.expiration)
        if lifetime is None:
            raise CannotRun(
                f"--expiration: {args.expiration!r} is not a duration; expected e.g. '15m', '2h' or '1h30m'"
            )
    token_type = args.token_type or default.get("token_type") or "organization"
    return Request(
        token_type,
        args.team or (default.get("team") if token_type == "team" else None),
        args.user or (default.get("user") if token_type == "personal" else None),
        lifetime,
    )


def _subjects() -> list[tuple[Any, Any]]:
    """Each kind the doctor can be pointed at, with its subject (``--<flag> NS/NAME``)."""
    return [(kind, kind.subject) for kind in kinds.kinds() if kind.subject is not None]


def _agent(args: argparse.Namespace, config: Any) -> tuple[str | None, dict[str, Any] | None]:
    """What a kind's flag (--operator-stack, --esc-store, --runner, ...) names: the service account
    whose token is exchanged (NS/SA), and the request its agent makes (not the login Job's)."""
    for kind, subject in _subjects():
        named = getattr(args, subject.flag.replace("-", "_"))
        if not named:
            continue
        entries = {entry.reference: entry for entry in config.of(kind)}
        if named not in entries:
            known = ", ".join(entries) or "none"
            article = "an" if subject.noun[0] in "AEIOU" else "a"
            raise CannotRun(
                f"--{subject.flag}: {named!r} is not {article} {subject.noun} of the stack; its {subject.noun}s: {known}"
            )
        request = subject.request(entries[named])
        return request.account, {
            "token_type": request.token_type,
            "team": request.team,
            "user": request.user,
            "lifetime_seconds": request.lifetime_seconds,
            "source": request.source,
        }
    return None, None


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except CannotRun as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except ModuleNotFoundError as error:
        if error.name not in ("jwt", "kubernetes", "cryptography"):
            raise
        print(
            f"error: {'--check-issuer' if error.name != 'kubernetes' else '--from-cluster'} needs the doctor's extras: "
            "pip install 'keyless-k8s-pulumi[doctor]'",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN


def _run(args: argparse.Namespace) -> int:
    from keyless.config.read import StackFileError
    from keyless.core.problems import InvalidArgumentError
    from keyless.doctor import findings, reference, tokens
    from keyless.preview.root import project_root

    try:
        stack = reference.load(args.stack, (args.root or project_root()).resolve(), args.issuer_url)
    except (InvalidArgumentError, FileNotFoundError, StackFileError) as error:
        raise CannotRun(f"stack {args.stack!r}: {error}") from error

    account, agent_request = _agent(args, stack.config)
    if account is not None and args.workload is None and args.from_cluster:
        args.workload = account
    if args.from_cluster != (args.workload is not None):
        flags = " or ".join(f"--{subject.flag}" for _, subject in _subjects())
        raise CannotRun(f"--workload NS/SA goes with --from-cluster, and --from-cluster needs it (or {flags})")
    token: tokens.Token | None = None
    try:
        if args.token_file is not None:
            token = tokens.decode(_read(args.token_file))
            claims = token.claims
        elif args.claims_file is not None:
            claims = tokens.claims_from_log(_read(args.claims_file))
        else:
            namespace, account = _workload(args.workload)
            token = tokens.from_cluster(namespace, account, stack.audience, args.kubeconfig, args.context)
            claims = token.claims
    except tokens.NotAJwt as error:
        finding = findings.Finding(findings.Code.NOT_A_JWT, f"the token is not a JWT: {error}")
        diagnosis = findings.Diagnosis([finding], None, Request())
        return _report(args, diagnosis, {}, "")
    except ValueError as error:
        raise CannotRun(f"--claims-file: {error}") from error
    except Exception as error:  # the Kubernetes client's errors: configuration, connection, API status
        if not args.from_cluster:
            raise
        reason = getattr(error, "reason", None) or str(error).splitlines()[0]
        raise CannotRun(f"--from-cluster: the TokenRequest for {args.workload} failed: {reason}") from error

    named = tokens.workload_of(claims)
    workload = stack.workload(*named) if named else None
    default = agent_request or stack.login_request(workload)
    diagnosis = findings.diagnose(stack, claims, _request(args, default))
    unchecked = None
    if args.check_issuer:
        if token is None:
            diagnosis.notes.append(
                "--check-issuer needs the token itself (--token-file or --from-cluster), not its claims"
            )
        else:
            from keyless.doctor import issuer

            try:
                extra = issuer.check(token)
            except issuer.NotReachedFromHere as error:
                unchecked = str(error)
                extra = []
            if extra:
                kept = [f for f in diagnosis.findings if f.code != findings.Code.ADMITTED]
                diagnosis = findings.Diagnosis(kept + extra, diagnosis.policy, diagnosis.request, diagnosis.notes)
    subject = f"{named[0]}/{named[1]}" if named else str(claims.get("sub", "an unknown subject"))
    status = _report(args, diagnosis, claims, f"token for {subject}, request from {default['source']}")
    if unchecked is not None:
        print(
            f"error: --check-issuer could not check the issuer: {unchecked}; the verdict above leaves out the "
            "issuer's keys and signature (Pulumi Cloud fetches them over the internet)",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    return status


def _report(args: argparse.Namespace, diagnosis: Any, claims: dict[str, Any], about: str) -> int:
    from keyless.doctor.findings import as_json

    if args.json:
        print(json.dumps(as_json(diagnosis, claims), indent=2, sort_keys=True))
    else:
        print(f"{diagnosis.verdict}: stack {args.stack}" + (f", {about}" if about else ""))
        for finding in diagnosis.findings:
            grounds = finding.grounds
            print(f"  {finding.code.value}: {finding.message}")
            if grounds is not None:
                print(f"    ({grounds.kind}: {grounds.source})")
        for note in diagnosis.notes:
            print(f"  note: {note}")
    return {"admitted": EXIT_OK, "refused": EXIT_FOUND}.get(diagnosis.verdict, EXIT_LIKELY)
