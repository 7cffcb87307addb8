"""`keyless doctor`: each code from the case it names, against a local OIDC issuer and the
committed stacks' own policies; the token never appears in any output."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.core.exchange import Request, evaluate, value_matches
from keyless.doctor import reference
from keyless.doctor.findings import Code, diagnose
from tests.conftest import ROOT
from tests.oidc_issuer import Issuer, serve

GKE_ISSUER = "https://container.googleapis.com/v1/projects/my-gcp-project/locations/us-central1/clusters/keyless-dev"
AUDIENCE = "urn:pulumi:org:my-pulumi-org"
EKS_ID = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    holder: dict[str, Issuer] = {}
    with serve(lambda method, path, body: holder["issuer"].handle(method, path, body)) as url:
        holder["issuer"] = Issuer(url)
        yield holder["issuer"]


def doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], token: str, *args: str
) -> tuple[int, dict[str, Any], str]:
    """Run `keyless doctor --json` on ``token``; return the exit status, the JSON and all output."""
    path = tmp_path / "token.jwt"
    path.write_text(token)
    status = main(["doctor", "--root", str(ROOT), "--token-file", str(path), "--json", *args])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert token not in printed and token.rsplit(".", 1)[-1] not in printed, "the token must never be printed"
    return status, json.loads(captured.out) if captured.out.strip().startswith("{") else {}, printed


def codes(report: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in report["reasons"]]


# --- each committed stack's workloads are admitted ---------------------------------------------


@pytest.mark.parametrize(
    ("stack", "iss", "workload"),
    [
        ("dev", GKE_ISSUER, ("pulumi-runner", "pulumi-runner")),
        ("eks-dev", f"https://oidc.eks.us-west-2.amazonaws.com/id/{EKS_ID}", ("pulumi-runner", "pulumi-runner")),
        ("existing-dev", f"https://oidc.eks.eu-west-1.amazonaws.com/id/{EKS_ID}", ("ci", "ci-runner")),
        (
            "existing-dev",
            f"https://oidc.eks.eu-west-1.amazonaws.com/id/{EKS_ID}",
            ("pulumi-agents", "deployment-agent"),
        ),
    ],
)
def test_a_correct_token_for_each_committed_workload_is_admitted(
    issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str, iss: str, workload: tuple[str, str]
) -> None:
    token = issuer.mint(*workload, AUDIENCE, issuer=iss)
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", stack)
    assert (status, codes(report)) == (0, ["admitted"])


def test_several_policies_and_only_one_matches(issuer: Issuer) -> None:
    stack = reference.load("existing-dev", ROOT)
    claims = _claims(issuer, "ci", "ci-runner", iss=f"https://oidc.eks.eu-west-1.amazonaws.com/id/{EKS_ID}")
    matching = [result.index for result in evaluate(stack.policies, claims).allowing]
    assert len(stack.policies) == 3 and matching == [1]  # a runner, the CI runner, the ESC store
    diagnosis = diagnose(stack, claims, Request("team", "platform", None, 3600))
    assert [f.code for f in diagnosis.findings] == [Code.ADMITTED]
    assert diagnosis.policy is not None and diagnosis.policy["teamName"] == "platform"


# --- one test per code ---------------------------------------------------------------------------


def test_an_issuer_differing_only_in_a_trailing_slash_is_likely_refused_on_an_assumption(
    issuer: Issuer, tmp_path: Path, capsys: Any
) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER + "/")
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert (status, report["verdict"], codes(report)) == (3, "likely-refused", ["issuer-mismatch"])
    reason = report["reasons"][0]
    assert GKE_ISSUER + "/" in reason["message"] and "trailing '/'" in reason["message"]
    assert reason["basis"] == "assumed" and "does not document" in reason["source"]


def test_another_issuer_is_refused_on_a_documented_reason(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER.replace("keyless-dev", "other"))
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert (status, report["verdict"], codes(report)) == (1, "refused", ["issuer-mismatch"])
    assert report["reasons"][0]["basis"] == "documented" and "oidc-issuers" in report["reasons"][0]["source"]


def test_a_zonal_self_link_is_not_the_issuer(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER.replace("locations", "zones"))
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert codes(report) == ["issuer-mismatch"] and "never 'zones/'" in report["reasons"][0]["message"]


def test_an_audience_no_policy_pins_is_an_assumed_reason(issuer: Issuer) -> None:
    stack = reference.load("dev", ROOT)
    unpinned = [{**p, "rules": {k: v for k, v in p["rules"].items() if k != "aud"}} for p in stack.policies]
    stack = reference.StackReference(
        stack.stack, stack.organization, stack.issuer, stack.max_expiration_seconds, unpinned, stack.config
    )
    claims = _claims(issuer, "pulumi-runner", "pulumi-runner", aud="https://kubernetes.default.svc")
    diagnosis = diagnose(stack, claims, Request("organization", lifetime_seconds=3600))
    assert [f.code for f in diagnosis.findings] == [Code.AUDIENCE_MISMATCH]
    assert AUDIENCE in diagnosis.findings[0].message and diagnosis.verdict == "likely-refused"


def test_the_committed_stacks_pin_the_audience_a_documented_policy_mismatch(
    issuer: Issuer, tmp_path: Path, capsys: Any
) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", "https://kubernetes.default.svc", issuer=GKE_ISSUER)
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert (status, report["verdict"], codes(report)) == (1, "refused", ["no-matching-policy"])
    assert "aud is ['https://kubernetes.default.svc']" in report["reasons"][0]["message"]
    assert report["reasons"][0]["basis"] == "documented"


def test_every_reason_says_what_it_rests_on(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "runner", AUDIENCE, issuer=GKE_ISSUER, now=time.time() - 7200)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--expiration", "3h")
    assert set(codes(report)) == {"expired", "no-matching-policy", "lifetime-exceeds-issuer-maximum"}
    bases = {reason["code"]: reason["basis"] for reason in report["reasons"]}
    assert bases == {
        "expired": "documented",
        "no-matching-policy": "documented",
        "lifetime-exceeds-issuer-maximum": "assumed",
    }
    assert all(reason["source"] for reason in report["reasons"])
    assert report["verdict"] == "refused"
    assert main(["doctor", "--root", str(ROOT), "--token-file", str(tmp_path / "token.jwt"), "--stack", "dev"]) == 1
    assert "(documented: RFC 7519" in capsys.readouterr().out


def test_expired(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER, now=time.time() - 7200)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert codes(report) == ["expired"]


def test_not_yet_valid(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER, now=time.time() + 3600)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert codes(report) == ["not-yet-valid"]


def test_no_matching_policy_shows_the_claim_and_the_nearest_policy(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "runner", AUDIENCE, issuer=GKE_ISSUER)
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev")
    assert (status, codes(report)) == (1, ["no-matching-policy"])
    assert (
        "sub is 'system:serviceaccount:pulumi-runner:runner'; the nearest policy (pulumi-runner/pulumi-runner) "
        "expects 'system:serviceaccount:pulumi-runner:pulumi-runner'"
    ) in report["reasons"][0]["message"]


def test_denied_by_policy_even_when_an_allow_matches(issuer: Issuer) -> None:
    stack = reference.load("dev", ROOT)
    deny = {"decision": "deny", "tokenType": "organization", "rules": {'"kubernetes.io".namespace': "pulumi-*"}}
    stack = reference.StackReference(
        stack.stack,
        stack.organization,
        stack.issuer,
        stack.max_expiration_seconds,
        [*stack.policies, deny],
        stack.config,
    )
    claims = _claims(issuer, "pulumi-runner", "pulumi-runner")
    diagnosis = diagnose(stack, claims, Request("organization", lifetime_seconds=3600))
    assert [f.code for f in diagnosis.findings] == [Code.DENIED_BY_POLICY]
    assert "deny policy 1" in diagnosis.findings[0].message


def test_token_type_mismatch_when_the_login_asks_for_a_team(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--team", "platform", "--token-type", "team")
    assert codes(report) == ["token-type-mismatch"]
    assert "requests a team token for 'platform'" in report["reasons"][0]["message"]
    assert "grants an organization token" in report["reasons"][0]["message"]


def test_runner_token_not_requestable_by_the_cli(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    iss = f"https://oidc.eks.eu-west-1.amazonaws.com/id/{EKS_ID}"
    token = issuer.mint("pulumi-agents", "deployment-agent", AUDIENCE, issuer=iss)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "existing-dev", "--token-type", "organization")
    assert codes(report) == ["runner-token-not-requestable"]


def test_lifetime_exceeds_issuer_maximum(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=GKE_ISSUER)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--expiration", "3h")
    assert codes(report) == ["lifetime-exceeds-issuer-maximum"]
    assert "10800s" in report["reasons"][0]["message"] and "7200s" in report["reasons"][0]["message"]


def test_not_a_jwt(tmp_path: Path, capsys: Any) -> None:
    status, report, _ = doctor(tmp_path, capsys, "this.is-not", "--stack", "dev")
    assert (status, codes(report)) == (1, ["not-a-jwt"])


# --- --check-issuer: discovery, keys and signature over HTTP(S) ----------------------------------


def test_check_issuer_admits_a_token_signed_by_the_published_key(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE)
    status, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--issuer-url", issuer.url, "--check-issuer")
    assert (status, codes(report)) == (0, ["admitted"])


def test_signature_invalid(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    forged = Issuer(issuer.url)  # another key, published under the same key id
    token = forged.mint("pulumi-runner", "pulumi-runner", AUDIENCE)
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--issuer-url", issuer.url, "--check-issuer")
    assert codes(report) == ["signature-invalid"]


def test_unknown_key_id(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, kid="rotated-away")
    _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--issuer-url", issuer.url, "--check-issuer")
    assert codes(report) == ["unknown-key-id"]


def test_discovery_issuer_mismatch(tmp_path: Path, capsys: Any) -> None:
    holder: dict[str, Issuer] = {}
    with serve(lambda method, path, body: holder["i"].handle(method, path, body)) as url:
        holder["i"] = Issuer(url)
        holder["i"].discovery_issuer = url + "/"
        token = holder["i"].mint("pulumi-runner", "pulumi-runner", AUDIENCE)
        _, report, _ = doctor(tmp_path, capsys, token, "--stack", "dev", "--issuer-url", url, "--check-issuer")
    assert codes(report) == ["discovery-issuer-mismatch"]


def test_an_issuer_this_machine_cannot_reach_is_not_a_refusal(issuer: Issuer, tmp_path: Path, capsys: Any) -> None:
    with serve(lambda method, path, body: (404, {})) as url:
        pass  # the server is gone: its port refuses connections
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer=url)
    status, report, printed = doctor(tmp_path, capsys, token, "--stack", "dev", "--issuer-url", url, "--check-issuer")
    # Nothing reached this machine: that is not Pulumi Cloud's verdict, so the doctor could not run.
    assert status == 2 and codes(report) == ["admitted"]
    assert "--check-issuer could not check the issuer" in printed and "could not be fetched from here" in printed


def test_a_non_loopback_http_issuer_is_unreachable_for_pulumi_cloud(
    issuer: Issuer, tmp_path: Path, capsys: Any
) -> None:
    token = issuer.mint("pulumi-runner", "pulumi-runner", AUDIENCE, issuer="http://oidc.example.com")
    _, report, _ = doctor(
        tmp_path, capsys, token, "--stack", "dev", "--issuer-url", "http://oidc.example.com", "--check-issuer"
    )
    assert codes(report) == ["issuer-unreachable"] and "not https" in report["reasons"][0]["message"]


# --- pattern rules, the login Job's claims, and the rules' one home ------------------------------


def test_a_pattern_rule_matches_as_pulumi_cloud_documents(issuer: Issuer) -> None:
    assert value_matches("system:serviceaccount:ci:*", "system:serviceaccount:ci:anything")
    assert value_matches("ci-runner?", "ci-runner") and not value_matches("ci-runner?", "ci-runner-2")
    assert value_matches("a.b", "a-b"), "a literal dot in a value is a one-character wildcard"
    stack = reference.load("dev", ROOT)
    wide = {"decision": "allow", "tokenType": "organization", "rules": {"sub": "system:serviceaccount:pulumi-runner:*"}}
    stack = reference.StackReference(stack.stack, stack.organization, stack.issuer, 7200, [wide], stack.config)
    diagnosis = diagnose(stack, _claims(issuer, "pulumi-runner", "any-account"), Request(lifetime_seconds=3600))
    assert [f.code for f in diagnosis.findings] == [Code.ADMITTED]


def test_an_unquoted_nested_claim_path_is_named_as_the_reason(issuer: Issuer) -> None:
    stack = reference.load("dev", ROOT)
    unquoted = {"decision": "allow", "tokenType": "organization", "rules": {"kubernetes.io.namespace": "pulumi-runner"}}
    stack = reference.StackReference(stack.stack, stack.organization, stack.issuer, 7200, [unquoted], stack.config)
    diagnosis = diagnose(stack, _claims(issuer, "pulumi-runner", "pulumi-runner"), Request(lifetime_seconds=3600))
    assert [f.code for f in diagnosis.findings] == [Code.NO_MATCHING_POLICY]
    assert "kubernetes.io.namespace are not quoted" in diagnosis.findings[0].message


def test_the_claims_the_login_job_logs_are_enough(tmp_path: Path, capsys: Any) -> None:
    log = tmp_path / "claims.txt"
    log.write_text(
        "Service-account token claims:\n"
        f"  iss: {GKE_ISSUER}\n  sub: system:serviceaccount:pulumi-runner:other\n"
        f'  aud: ["{AUDIENCE}"]\n  exp: {int(time.time()) + 600}\n'
    )
    status = main(["doctor", "--root", str(ROOT), "--stack", "dev", "--claims-file", str(log)])
    out = capsys.readouterr().out
    assert status == 1 and "no-matching-policy: sub is 'system:serviceaccount:pulumi-runner:other'" in out


def test_a_rule_change_in_the_component_moves_the_doctor(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctor reads what PulumiCloudTrust registers, not a copy of its rules."""
    import keyless.components.pulumi_cloud_trust as trust

    claims = _claims(issuer, "pulumi-runner", "pulumi-runner")
    request = Request(lifetime_seconds=3600)
    assert diagnose(reference.load("dev", ROOT), claims, request).admitted
    original = trust.policy_rules
    monkeypatch.setattr(
        trust, "policy_rules", lambda ns, sa, aud=None: {**original(ns, sa, aud), "sub": "someone-else"}
    )
    assert [f.code for f in diagnose(reference.load("dev", ROOT), claims, request).findings] == [
        Code.NO_MATCHING_POLICY
    ]


def _claims(issuer: Issuer, namespace: str, account: str, iss: str = GKE_ISSUER, aud: str = AUDIENCE) -> dict[str, Any]:
    from tests.oidc_issuer import claims_of

    return dict(claims_of(issuer.mint(namespace, account, aud, issuer=iss)))


# --- --from-cluster: the Kubernetes client against a stand-in TokenRequest API -------------------


def test_from_cluster_mints_through_token_request_and_never_shows_the_token(
    issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests: list[tuple[str, dict[str, Any]]] = []
    minted: list[str] = []

    def api(method: str, path: str, body: bytes) -> tuple[int, Any]:
        parts = path.split("/")  # /api/v1/namespaces/NS/serviceaccounts/SA/token
        if method == "POST" and len(parts) == 8 and parts[-1] == "token":
            spec = json.loads(body)["spec"]
            requests.append((path, spec))
            token = issuer.mint(
                parts[4], parts[6], spec["audiences"][0], issuer=GKE_ISSUER, lifetime=spec["expirationSeconds"]
            )
            minted.append(token)
            return 201, {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": spec,
                "status": {"token": token, "expirationTimestamp": "2030-01-01T00:00:00Z"},
            }
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}

    with serve(api) as server:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "stand-in", "cluster": {"server": server}}],
                    "users": [{"name": "me", "user": {"token": "not-a-real-credential"}}],
                    "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "me"}}],
                    "current-context": "stand-in",
                }
            )
        )
        status = main(
            [
                "doctor",
                "--root",
                str(ROOT),
                "--stack",
                "dev",
                "--from-cluster",
                "--workload",
                "pulumi-runner/pulumi-runner",
                "--kubeconfig",
                str(kubeconfig),
            ]
        )
        missing = main(
            [
                "doctor",
                "--root",
                str(ROOT),
                "--stack",
                "dev",
                "--from-cluster",
                "--workload",
                "pulumi-runner/nobody",
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                "no-such-context",
            ]
        )
    captured = capsys.readouterr()
    assert status == 0 and "admitted" in captured.out
    assert requests[0] == (
        "/api/v1/namespaces/pulumi-runner/serviceaccounts/pulumi-runner/token",
        {"audiences": [AUDIENCE], "expirationSeconds": 600},
    )
    assert minted and all(token not in captured.out + captured.err for token in minted)
    assert missing == 2 and "--from-cluster" in captured.err


def test_the_doctor_cannot_run_without_a_stack_or_with_bad_arguments(tmp_path: Path, capsys: Any) -> None:
    assert main(["doctor", "--root", str(ROOT), "--stack", "nope", "--token-file", str(tmp_path / "t")]) == 2
    assert main(["doctor", "--root", str(ROOT), "--stack", "dev", "--token-file", str(tmp_path / "missing")]) == 2
    assert main(["doctor", "--root", str(ROOT), "--stack", "dev", "--from-cluster"]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--stack", "dev"])
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_team_scopes_match_with_wildcards_as_documented(issuer: Issuer) -> None:
    stack = reference.load("existing-dev", ROOT)
    wildcard = [{**p, "teamName": "plat*"} if p.get("tokenType") == "team" else p for p in stack.policies]
    stack = reference.StackReference(
        stack.stack, stack.organization, stack.issuer, stack.max_expiration_seconds, wildcard, stack.config
    )
    claims = _claims(issuer, "ci", "ci-runner", iss=f"https://oidc.eks.eu-west-1.amazonaws.com/id/{EKS_ID}")
    assert diagnose(stack, claims, Request("team", "platform", None, 3600)).verdict == "admitted"
    assert diagnose(stack, claims, Request("team", "ops", None, 3600)).verdict == "refused"


@pytest.mark.parametrize(
    ("iss", "said"),
    [
        (
            f"https://oidc.eks.us-east-1.amazonaws.com/id/{EKS_ID}",
            "names the region 'us-east-1', not the cluster's 'us-west-2'",
        ),
        (f"https://oidc.eks.us-west-2.amazonaws.com/id/{EKS_ID}/", "ends with '/'; EKS tokens' iss has none"),
        ("https://oidc.eks.us-west-2.amazonaws.com/id/ABC", "has the id 'ABC' (3 characters)"),
        (f"https://oidc-eks.us-west-2.api.aws/id/{EKS_ID}", "is not on the EKS issuer host"),
    ],
)
def test_an_eks_issuer_that_cannot_be_the_clusters_says_what_is_wrong(issuer: Issuer, iss: str, said: str) -> None:
    stack = reference.load("eks-dev", ROOT)
    claims = {**_claims(issuer, "pulumi-runner", "pulumi-runner"), "iss": iss}
    diagnosis = diagnose(stack, claims, Request("organization", lifetime_seconds=3600))
    assert [f.code for f in diagnosis.findings] == [Code.ISSUER_MISMATCH]
    assert said in diagnosis.findings[0].message


def test_the_irsa_token_is_recognised_as_the_clouds_not_pulumi_clouds(issuer: Issuer) -> None:
    stack = reference.load("eks-dev", ROOT)
    iss = f"https://oidc.eks.us-west-2.amazonaws.com/id/{EKS_ID}"
    claims = _claims(issuer, "pulumi-runner", "pulumi-runner", iss=iss, aud="sts.amazonaws.com")
    diagnosis = diagnose(stack, claims, Request("organization", lifetime_seconds=3600))
    assert any("identityMode irsa mounts for the cloud" in note for note in diagnosis.notes)
