from typing import Any

import pytest

from keyless.components.oidc_login_job import OidcLoginJob, OidcLoginJobArgs, OidcLoginRunner, login_pod_spec
from keyless.core.login_job import LIBRARY_NAME, LOGIN_JOB, login_environment, login_script, script
from keyless.core.login_request import TOKEN_FILE, LoginRequest
from keyless.core.problems import InvalidArgumentError
from keyless.core.pulumi_cloud import TokenType
from keyless.core.values import duration, duration_seconds
from keyless.preview.engine import run_program
from tests.conftest import run_component

LOGIN_SCRIPT = login_script()

# --- pure builders -----------------------------------------------------------------------------


def test_login_environment_carries_flags_and_a_writable_home() -> None:
    environment = login_environment(LoginRequest.of("acme", "team", "platform"))
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
    spec: Any = login_pod_spec(  # the Args classes type every field as a possible Output
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

BASE: OidcLoginJobArgs = {
    "namespace": "ci",
    "service_account_name": "runner",
    "organization": "acme",
    "token_type": TokenType.ORGANIZATION,
}


def _job_and_config_map(args: OidcLoginJobArgs) -> tuple[dict[str, Any], dict[str, Any]]:
    run = run_component(lambda: OidcLoginJob("login", args))
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
    assert config_map["data"] == {"login.sh": LOGIN_SCRIPT, LIBRARY_NAME: script(LIBRARY_NAME)}
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


def test_a_stack_that_ran_the_login_job_under_its_earlier_type_keeps_it() -> None:
    """``OidcLoginRunner`` was renamed: each resource answers to its URN from before, as the engine
    computes aliases, so ``pulumi up`` moves the Job, ConfigMap and NetworkPolicy instead of
    deleting and recreating them."""
    run = run_component(lambda: OidcLoginJob("login", BASE))
    earlier = "urn:pulumi:dev::keyless::keyless:index:OidcLoginRunner"
    before = {
        "keyless:index:OidcLoginJob": f"{earlier}::login",
        "kubernetes:core/v1:ConfigMap": f"{earlier}$kubernetes:core/v1:ConfigMap::login-script",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy": f"{earlier}$kubernetes:networking.k8s.io/v1:NetworkPolicy::login",
        "kubernetes:batch/v1:Job": f"{earlier}$kubernetes:batch/v1:Job::login",
    }
    assert sorted(r.type for r in run.registrations) == sorted(before)
    assert all(before[r.type] in r.answers_to for r in run.registrations)


def test_the_deprecated_name_keeps_its_type_until_a_stack_switches(caplog: pytest.LogCaptureFixture) -> None:
    run = run_component(lambda: OidcLoginRunner("login", BASE))
    login = run.one("keyless:index:OidcLoginRunner", "login")
    assert login.answers_to == [], "nothing moves until the program names OidcLoginJob"
    assert run.one("kubernetes:batch/v1:Job").urn.endswith(
        "keyless:index:OidcLoginRunner$kubernetes:batch/v1:Job::login"
    )
    assert any("use OidcLoginJob" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


def test_job_waits_for_what_the_caller_depends_on() -> None:
    import pulumi_kubernetes as k8s

    def build() -> None:
        account = k8s.core.v1.ServiceAccount("sa", metadata={"name": "runner", "namespace": "ci"})
        OidcLoginJob("login", BASE, opts=__import__("pulumi").ResourceOptions(depends_on=[account]))

    run = run_component(build)
    job = run.one("kubernetes:batch/v1:Job")
    assert run.depends_on(job, run.one("kubernetes:core/v1:ServiceAccount"))
    assert run.depends_on(job, run.one("kubernetes:core/v1:ConfigMap"))
    assert run.depends_on(job, run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy"))


def test_network_policy_allows_only_dns_and_https_egress() -> None:
    run = run_component(lambda: OidcLoginJob("login", BASE))
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
    run = run_component(lambda: OidcLoginJob("login", {**BASE, "network_policy": False}))
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
    run = run_program({}, program=lambda: OidcLoginJob("login", {**BASE, **override}), raise_errors=False)  # type: ignore[typeddict-item]
    assert isinstance(run.error, InvalidArgumentError)
    assert message in str(run.error)
    assert run.registrations == []


def test_digest_pinned_image_is_accepted() -> None:
    digest = "pulumi/pulumi-base@sha256:" + "a" * 64
    job, _ = _job_and_config_map({**BASE, "image": digest})
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == digest


def test_the_login_objects_carry_the_recommended_labels() -> None:
    run = run_component(lambda: OidcLoginJob("login", BASE))
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


def test_the_job_names_its_stack_and_workload_in_the_doctor_command() -> None:
    run = run_component(lambda: OidcLoginJob("login", BASE))
    env = run.one("kubernetes:batch/v1:Job").plain_inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {item["name"]: item["value"] for item in env}
    assert values["KEYLESS_DOCTOR_COMMAND"] == "keyless doctor --stack dev --from-cluster --workload ci/runner"


def test_the_canary_runs_the_same_pod_on_a_schedule_one_at_a_time() -> None:
    run = run_component(lambda: OidcLoginJob("login", {**BASE, "canary_schedule": "0 * * * *"}))
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
    assert run_component(lambda: OidcLoginJob("login", BASE)).of_type("kubernetes:batch/v1:CronJob") == []
    problems = LOGIN_JOB.check({**BASE, "canary_schedule": "every hour"})
    assert "canary_schedule: 'every hour' is not a cron schedule" in str(problems[0])
