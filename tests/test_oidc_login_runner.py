import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.oidc_login_runner import OidcLoginRunner, OidcLoginRunnerArgs, runner_pod_spec
from keyless.core.login_job import LOGIN_JOB, TOKEN_FILE, login_environment, login_script
from keyless.core.problems import InvalidArgumentError
from keyless.core.pulumi_cloud import TokenType
from keyless.core.values import duration, duration_seconds
from keyless.preview.engine import run_program
from tests.conftest import run_component

LOGIN_SCRIPT = login_script()

# --- the login script, run for real under bash with a stand-in `pulumi` -----------------------

SIGNATURE = "c2lnbmF0dXJlLW5ldmVyLXRvLWJlLXByaW50ZWQ"
CLAIMS: dict[str, Any] = {
    "iss": "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c",
    "sub": "system:serviceaccount:ci:runner",
    "aud": ["urn:pulumi:org:acme"],
    "exp": 1893456000,
    "kubernetes.io": {"namespace": "ci", "pod": {"name": "secret-pod-name"}},
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _token(separators: tuple[str, str] = (",", ":")) -> str:
    payload = json.dumps(CLAIMS, separators=separators).encode()
    return ".".join([_b64url(b'{"alg":"RS256"}'), _b64url(payload), SIGNATURE])


WHOAMI = {
    "user": "pulumi-team-platform",
    "organizations": ["acme"],
    "url": "https://app.pulumi.com/acme",
    "tokenInformation": {"name": "oidc-exchange", "organization": "acme", "team": "platform"},
}
FAKE_PULUMI = """#!/bin/bash
printf '%s\\n' "$*" >> "$CALLS"
printf 'access-token-set=%s\\n' "${PULUMI_ACCESS_TOKEN+yes}" >> "$CALLS"
if [[ "$1" == login && -n "${FAIL_LOGIN:-}" ]]; then echo "error: token exchange refused" >&2; exit 7; fi
if [[ "$1" == whoami && -s "${WHOAMI_FILE:-}" ]]; then cat "$WHOAMI_FILE"; exit 0; fi
if [[ "$1" == whoami ]]; then  # what Pulumi Cloud grants when the policy matches the request
  user="pulumi-${PULUMI_OIDC_ORG}"; team=""
  if [[ -n "${PULUMI_OIDC_TEAM:-}" ]]; then user="pulumi-team-${PULUMI_OIDC_TEAM}"; team="${PULUMI_OIDC_TEAM}"; fi
  if [[ -n "${PULUMI_OIDC_USER:-}" ]]; then user="${PULUMI_OIDC_USER}"; fi
  printf '{"user": "%s", "organizations": ["%s"], "tokenInformation": {"name": "oidc-exchange", "organization": "%s", "team": "%s"}}\n' \
    "$user" "$PULUMI_OIDC_ORG" "$PULUMI_OIDC_ORG" "$team"
fi
"""


def run_login_script(
    tmp_path: Path, environment: dict[str, str], *, token: str | None = None, whoami_reply: dict[str, Any] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    script = tmp_path / "login.sh"
    script.write_text(LOGIN_SCRIPT)
    token_file = tmp_path / "token"
    if token is not None:
        token_file.write_text(token)
    calls = tmp_path / "calls"
    whoami = tmp_path / "whoami.json"
    if whoami_reply is not None:
        whoami.write_text(json.dumps(whoami_reply, indent=2))
    env = {
        "WHOAMI_FILE": str(whoami),
        **environment,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PULUMI_OIDC_TOKEN_FILE": str(token_file),
        "CALLS": str(calls),
        "PULUMI_ACCESS_TOKEN": "pul-should-be-unset",
    }
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30, check=False)
    return result, calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")], ids=["compact-json", "spaced-json"])
def test_script_exchanges_token_from_file_and_never_prints_it(tmp_path: Path, separators: tuple[str, str]) -> None:
    environment = login_environment(organization="acme", token_type="organization", exchanged_token_lifetime="30m")
    token = _token(separators)
    result, calls = run_login_script(tmp_path, environment, token=token)
    assert result.returncode == 0, result.stderr
    token_file = tmp_path / "token"
    assert calls[0] == (
        f"login https://api.pulumi.com --oidc-token file://{token_file} --oidc-org acme --oidc-expiration 30m"
    )
    assert calls[1] == "access-token-set="  # unset before the CLI ran
    assert calls[2] == "whoami -v --json"
    printed = result.stdout + result.stderr
    assert token not in printed and SIGNATURE not in printed and token not in "".join(calls)
    assert "secret-pod-name" not in printed  # only iss, sub, aud and exp are shown
    for expected in (CLAIMS["iss"], CLAIMS["sub"], '["urn:pulumi:org:acme"]', str(CLAIMS["exp"])):
        assert expected in result.stdout


@pytest.mark.parametrize(
    ("token_type", "extra", "flags"),
    [
        ("team", {"team_name": "platform"}, "--oidc-team platform"),
        ("personal", {"user_login": "alice"}, "--oidc-user alice"),
    ],
)
def test_script_requests_the_token_type_the_policy_grants(
    tmp_path: Path, token_type: str, extra: dict[str, str], flags: str
) -> None:
    environment = login_environment(organization="acme", token_type=token_type, **extra)
    result, calls = run_login_script(tmp_path, environment, token=_token())
    assert result.returncode == 0, result.stderr
    assert calls[0].endswith(f"--oidc-org acme {flags} --oidc-expiration 1h")


def test_script_fails_when_the_exchange_is_refused(tmp_path: Path) -> None:
    environment = {**login_environment(organization="acme", token_type="organization"), "FAIL_LOGIN": "1"}
    result, calls = run_login_script(tmp_path, environment, token=_token())
    assert result.returncode == 7
    assert not any(call.startswith("whoami") for call in calls)


def test_script_fails_without_a_token(tmp_path: Path) -> None:
    result, calls = run_login_script(tmp_path, login_environment(organization="acme", token_type="organization"))
    assert result.returncode == 1
    assert "no service-account token" in result.stderr
    assert calls == []


# --- pure builders -----------------------------------------------------------------------------


def test_login_environment_carries_flags_and_a_writable_home() -> None:
    environment = login_environment(organization="acme", token_type="team", team_name="platform")
    assert environment["PULUMI_OIDC_TOKEN_FILE"] == TOKEN_FILE
    assert environment["PULUMI_OIDC_TEAM"] == "platform"
    assert "PULUMI_OIDC_USER" not in environment
    assert environment["PULUMI_HOME"].startswith(environment["HOME"])
    assert not any("TOKEN" in key and key != "PULUMI_OIDC_TOKEN_FILE" for key in environment)


def test_runner_token_type_is_not_something_the_cli_can_request() -> None:
    problems = LOGIN_JOB.check(
        {"namespace": "ci", "service_account_name": "r", "organization": "acme", "token_type": "runner"}
    )
    assert "token_type: 'runner' is not accepted; expected one of: organization, team, personal" in str(problems[0])


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("2h", 7200), ("1h30m", 5400), ("90s", 90)])
def test_duration_seconds(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "1d", "h", "15", "15 m", None])
def test_duration_rejects_what_the_cli_would_not_take(text: Any) -> None:
    assert duration_seconds(text) is None
    assert "is not a duration" in str(duration("k", text)[0])


def test_pod_spec_meets_the_restricted_pod_security_standard() -> None:
    spec: Any = runner_pod_spec(  # the Args classes type every field as a possible Output
        image="pulumi/pulumi-base:3.272.0",
        service_account_name="runner",
        script_config_map_name="script",
        audience="urn:pulumi:org:acme",
        environment={"A": "1"},
    )
    assert spec.automount_service_account_token is False
    pod_context = spec.security_context  # wire form, from keyless.core
    assert pod_context["runAsNonRoot"] is True
    assert pod_context["runAsUser"] >= 10000
    assert pod_context["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = spec.containers
    context = container.security_context
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["runAsUser"] == pod_context["runAsUser"]
    assert container.resources.limits and container.resources.requests
    assert all(mount.sub_path is None for mount in container.volume_mounts)


# --- the component, under mocks ----------------------------------------------------------------

BASE: OidcLoginRunnerArgs = {
    "namespace": "ci",
    "service_account_name": "runner",
    "organization": "acme",
    "token_type": TokenType.ORGANIZATION,
}


def _job_and_config_map(args: OidcLoginRunnerArgs) -> tuple[dict[str, Any], dict[str, Any]]:
    run = run_component(lambda: OidcLoginRunner("login", args))
    return (
        run.one("kubernetes:batch/v1:Job").plain_inputs,
        {
            **run.one("kubernetes:core/v1:ConfigMap").plain_inputs,
            "name": run.one("kubernetes:core/v1:ConfigMap").state["metadata"]["name"],
        },
    )


def test_job_mounts_a_projected_token_for_the_org_audience() -> None:
    job, config_map = _job_and_config_map({**BASE, "token_expiration_seconds": 1200})
    pod = job["spec"]["template"]["spec"]
    token_volume = next(v for v in pod["volumes"] if "projected" in v)
    projection = token_volume["projected"]["sources"][0]["serviceAccountToken"]
    assert projection == {"audience": "urn:pulumi:org:acme", "expirationSeconds": 1200, "path": "token"}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == token_volume["name"])
    assert mount["mountPath"] + "/token" == TOKEN_FILE
    assert "subPath" not in mount
    script_volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert script_volume["configMap"] == {"name": config_map["name"], "defaultMode": 0o555}
    assert config_map["data"]["login.sh"] == LOGIN_SCRIPT
    assert config_map["immutable"] is True
    assert pod["serviceAccountName"] == "runner"
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PULUMI_OIDC_ORG"] == "acme"


def test_job_runs_once_with_a_deadline_and_is_rerun_after_failure() -> None:
    job, _ = _job_and_config_map({**BASE, "active_deadline_seconds": 120, "await_timeout_seconds": 300})
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 120
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["metadata"]["annotations"] == {"pulumi.com/timeoutSeconds": "300", "pulumi.com/replaceUnready": "true"}
    assert job["metadata"]["namespace"] == "ci"


def test_job_uses_the_pinned_default_image() -> None:
    job, _ = _job_and_config_map(BASE)
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("pulumi/pulumi-base:3.") and not image.endswith(":latest")


def test_job_waits_for_what_the_caller_depends_on() -> None:
    import pulumi_kubernetes as k8s

    def build() -> None:
        account = k8s.core.v1.ServiceAccount("sa", metadata={"name": "runner", "namespace": "ci"})
        OidcLoginRunner("login", BASE, opts=__import__("pulumi").ResourceOptions(depends_on=[account]))

    run = run_component(build)
    job = run.one("kubernetes:batch/v1:Job")
    assert run.depends_on(job, run.one("kubernetes:core/v1:ServiceAccount"))
    assert run.depends_on(job, run.one("kubernetes:core/v1:ConfigMap"))
    assert run.depends_on(job, run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy"))


def test_network_policy_allows_only_dns_and_https_egress() -> None:
    run = run_component(lambda: OidcLoginRunner("login", BASE))
    job = run.one("kubernetes:batch/v1:Job").plain_inputs
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain_inputs
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= job["spec"]["template"]["metadata"]["labels"].items(), "the policy selects the Job's pod"
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == []
    ports = sorted((p["protocol"], p["port"]) for rule in policy["spec"]["egress"] for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("UDP", 53)]
    assert all("to" not in rule for rule in policy["spec"]["egress"])


def test_network_policy_can_be_turned_off() -> None:
    run = run_component(lambda: OidcLoginRunner("login", {**BASE, "network_policy": False}))
    assert run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"image": "pulumi/pulumi-base:latest"}, "image: 'pulumi/pulumi-base:latest' is not pinned"),
        ({"image": "pulumi/pulumi-base"}, "image: 'pulumi/pulumi-base' is not pinned"),
        (
            {"token_expiration_seconds": 599},
            "token_expiration_seconds: 599 is out of range; expected an integer from 600 to 86400",
        ),
        ({"token_type": "team"}, "team_name: missing; token_type 'team' needs it"),
        ({"user_login": "alice"}, "user_login: given with token_type 'organization'"),
        ({"namespace": "CI"}, "namespace: 'CI' is not a valid Kubernetes name"),
        ({"exchanged_token_lifetime": "1 day"}, "exchanged_token_lifetime: '1 day' is not a duration"),
        (
            {"backend_url": "http://api.pulumi.com"},
            "backend_url: 'http://api.pulumi.com' is not accepted; expected an https:// URL without a trailing slash",
        ),
    ],
)
def test_bad_runner_arguments_are_rejected_before_registration(override: dict[str, Any], message: str) -> None:
    run = run_program({}, program=lambda: OidcLoginRunner("login", {**BASE, **override}), raise_errors=False)  # type: ignore[typeddict-item]
    assert isinstance(run.error, InvalidArgumentError)
    assert message in str(run.error)
    assert run.registrations == []


def test_digest_pinned_image_is_accepted() -> None:
    digest = "pulumi/pulumi-base@sha256:" + "a" * 64
    job, _ = _job_and_config_map({**BASE, "image": digest})
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == digest


def test_the_login_objects_carry_the_recommended_labels() -> None:
    run = run_component(lambda: OidcLoginRunner("login", BASE))
    components = {}
    for registration in run.registrations:
        if registration.custom:
            labels = registration.plain_inputs["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "pulumi"
            assert labels["app.kubernetes.io/instance"] == "login"
            components[registration.type.rsplit(":", 1)[-1]] = labels["app.kubernetes.io/component"]
    assert components == {"ConfigMap": "login-script", "NetworkPolicy": "login-network-policy", "Job": "login-job"}
    job = run.one("kubernetes:batch/v1:Job").plain_inputs
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "login-job"


def test_script_shows_which_token_the_exchange_obtained(tmp_path: Path) -> None:
    environment = login_environment(organization="acme", token_type="team", team_name="platform")
    result, _ = run_login_script(tmp_path, environment, token=_token(), whoami_reply=WHOAMI)
    assert result.returncode == 0, result.stderr
    assert "Logged in as pulumi-team-platform; the token obtained:" in result.stdout
    for line in ("  name: oidc-exchange", "  organization: acme", "  team: platform"):
        assert line in result.stdout.splitlines()


def test_a_refused_exchange_ends_with_the_doctor_command_to_run(tmp_path: Path) -> None:
    command = "keyless doctor --stack dev --from-cluster --workload ci/runner"
    environment = {
        **login_environment(organization="acme", token_type="organization", doctor_command=command),
        "FAIL_LOGIN": "1",
    }
    result, _ = run_login_script(tmp_path, environment, token=_token())
    assert result.returncode == 7
    assert result.stderr.rstrip().splitlines()[-2].strip() == command
    assert "--claims-file" in result.stderr.rstrip().splitlines()[-1]


def test_the_job_names_its_stack_and_workload_in_the_doctor_command() -> None:
    run = run_component(lambda: OidcLoginRunner("login", BASE))
    env = run.one("kubernetes:batch/v1:Job").plain_inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {item["name"]: item["value"] for item in env}
    assert values["KEYLESS_DOCTOR_COMMAND"] == "keyless doctor --stack dev --from-cluster --workload ci/runner"


@pytest.mark.parametrize(
    ("token_type", "extra", "reply", "expected"),
    [
        (
            "organization",
            {},
            {**WHOAMI, "tokenInformation": {"organization": "acme", "team": "platform"}},
            "team is 'platform', expected '<none>'",
        ),
        (
            "team",
            {"team_name": "platform"},
            {**WHOAMI, "tokenInformation": {"organization": "acme", "team": "ops"}},
            "team is 'ops', expected 'platform'",
        ),
        (
            "team",
            {"team_name": "platform"},
            {**WHOAMI, "tokenInformation": {"organization": "other", "team": "platform"}},
            "organization is 'other', expected 'acme'",
        ),
        ("personal", {"user_login": "alice"}, {**WHOAMI, "user": "bob"}, "user is 'bob', expected 'alice'"),
    ],
)
def test_the_login_fails_when_the_token_obtained_is_not_the_intended_one(
    tmp_path: Path, token_type: str, extra: dict[str, str], reply: dict[str, Any], expected: str
) -> None:
    environment = login_environment(organization="acme", token_type=token_type, **extra)
    result, _ = run_login_script(tmp_path, environment, token=_token(), whoami_reply=reply)
    assert result.returncode == 3
    assert f"error: the token obtained is not the intended one: {expected}" in result.stderr


def test_the_canary_runs_the_same_pod_on_a_schedule_one_at_a_time() -> None:
    run = run_component(lambda: OidcLoginRunner("login", {**BASE, "canary_schedule": "0 * * * *"}))
    job = run.one("kubernetes:batch/v1:Job").plain_inputs
    canary = run.one("kubernetes:batch/v1:CronJob").plain_inputs["spec"]
    assert canary["schedule"] == "0 * * * *"
    assert canary["concurrencyPolicy"] == "Forbid"
    assert canary["successfulJobsHistoryLimit"] == 3 and canary["failedJobsHistoryLimit"] == 3
    assert canary["startingDeadlineSeconds"] == 300
    assert canary["jobTemplate"]["spec"]["backoffLimit"] == 0
    template = canary["jobTemplate"]["spec"]["template"]
    assert template["spec"] == job["spec"]["template"]["spec"], "the canary's pod is the Job's hardened pod"
    assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "login-canary"
    selector = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").plain_inputs["spec"]["podSelector"]
    assert selector["matchLabels"].items() <= template["metadata"]["labels"].items(), "its pod is confined too"


def test_no_schedule_no_canary_and_a_bad_schedule_is_refused() -> None:
    assert run_component(lambda: OidcLoginRunner("login", BASE)).of_type("kubernetes:batch/v1:CronJob") == []
    problems = LOGIN_JOB.check({**BASE, "canary_schedule": "every hour"})
    assert "canary_schedule: 'every hour' is not a cron schedule" in str(problems[0])
