"""ESC for applications with no token: the store and its ExternalSecrets against External Secrets'
own v2.9.0 CRDs, the trust and RBAC they need, the login Job opening the environment end to end
(each failure told apart), the guardrails, the access map and the doctor.
The CRDs are the upstream files in ``tests/reference-data/eso-v2.9.0``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.config import ConfigError, load_stack_config
from keyless.core.login_job import LIBRARY_NAME, login_environment, script
from keyless.core.login_request import LoginRequest
from keyless.policies import access_map
from keyless.policies.offline import violations
from keyless.record import ProgramRun
from tests.conftest import REFERENCE_DATA, load_stack_file, run_stack
from tests.conftest import crd_errors as validate_crd
from tests.oidc_issuer import token_file

CRDS = REFERENCE_DATA / "eso-v2.9.0"
STORE = "kubernetes:external-secrets.io/v1:SecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def crd_errors(document: Mapping[str, Any], crd_file: str) -> list[str]:
    return validate_crd(CRDS / crd_file, dict(document))


@pytest.fixture(scope="module")
def stack() -> ProgramRun:
    values, secrets = load_stack_file("existing-dev")
    return run_stack(values, secret_keys=tuple(secrets))


def test_the_store_and_its_external_secret_are_what_external_secrets_v2_9_accepts(stack: ProgramRun) -> None:
    store = stack.one(STORE).plain_inputs
    assert crd_errors(store, "external-secrets.io_secretstores.yaml") == []
    provider = store["spec"]["provider"]["pulumi"]
    # The CRD's CEL rules: exactly one of auth / accessToken, and within auth one of accessToken / oidcConfig.
    assert "accessToken" not in provider and list(provider["auth"]) == ["oidcConfig"]
    oidc = provider["auth"]["oidcConfig"]
    assert oidc["serviceAccountRef"] == {"name": "payments-esc", "audiences": ["urn:pulumi:org:my-pulumi-org"]}
    assert oidc["expirationSeconds"] >= 600 and oidc["organization"] == "my-pulumi-org"
    secret = stack.one(EXTERNAL_SECRET).plain_inputs
    assert crd_errors(secret, "external-secrets.io_externalsecrets.yaml") == []
    assert secret["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "payments"}
    assert secret["spec"]["data"] == [
        {"secretKey": "DB_PASSWORD", "remoteRef": {"key": "database.password"}},
        {"secretKey": "DB_USER", "remoteRef": {"key": "database.user"}},
    ]


def test_a_cluster_store_names_the_accounts_namespace_and_passes_its_crd(tmp_path: Path) -> None:
    values, secrets = load_stack_file("existing-dev")
    stores = json.loads(values["keyless:escStores"])
    stores[0]["clusterScoped"] = True
    run = run_stack({**values, "keyless:escStores": json.dumps(stores)}, secret_keys=tuple(secrets))
    store = run.one("kubernetes:external-secrets.io/v1:ClusterSecretStore").plain_inputs
    assert crd_errors(store, "external-secrets.io_clustersecretstores.yaml") == []
    assert "namespace" not in store["metadata"]
    assert store["spec"]["provider"]["pulumi"]["auth"]["oidcConfig"]["serviceAccountRef"]["namespace"] == "payments"
    assert run.one(EXTERNAL_SECRET).plain_inputs["spec"]["secretStoreRef"]["kind"] == "ClusterSecretStore"


def test_the_issuer_pins_the_stores_account_for_an_organization_token_with_a_role(stack: ProgramRun) -> None:
    policies = stack.one("pulumiservice:index:OidcIssuer").plain_inputs["policies"]
    store = next(p for p in policies if p["rules"]["sub"] == "system:serviceaccount:payments:payments-esc")
    assert store["tokenType"] == "organization" and store["roleID"] == "7d1e3f5a-9b2c-4e6d-8f0a-1c3e5a7b9d2f"
    assert store["rules"]['"kubernetes.io".namespace'] == "payments"


def test_the_controller_may_mint_a_token_for_the_stores_account_only(stack: ProgramRun) -> None:
    role = stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role").plain_inputs
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "resourceNames": ["payments-esc"],
            "verbs": ["create"],
        }
    ]
    binding = stack.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").plain_inputs
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}
    ]
    account = stack.one("kubernetes:core/v1:ServiceAccount", "payments.payments-account").plain_inputs
    assert account["automountServiceAccountToken"] is False


def test_no_token_is_stored_anywhere_and_the_guardrails_agree(stack: ProgramRun) -> None:
    for registration in stack.registrations:
        text = json.dumps(registration.plain_inputs)
        assert "accessToken" not in text and "pul-" not in text
    assert [v for v in violations(stack) if v.policy.startswith("esc-")] == []


@pytest.mark.parametrize(
    ("provider", "policy", "expected"),
    [
        (
            {"auth": {"accessToken": {"secretRef": {"name": "t", "key": "k"}}}},
            "esc-store-holds-no-access-token",
            "access token",
        ),
        ({"accessToken": {"secretRef": {"name": "t", "key": "k"}}}, "esc-store-holds-no-access-token", "access token"),
        (
            {"auth": {"oidcConfig": {"organization": "acme", "serviceAccountRef": {"name": "esc"}}}},
            "esc-store-audience-is-pulumis",
            "does not name 'urn:pulumi:org:acme'",
        ),
    ],
)
def test_the_guardrails_flag_a_store_that_is_not_keyless(provider: dict[str, Any], policy: str, expected: str) -> None:
    from keyless.policies.pack import POLICIES, check_resource

    props = {"spec": {"provider": {"pulumi": {"organization": "acme", "project": "p", "environment": "e", **provider}}}}
    found = check_resource(next(p for p in POLICIES if p.name == policy), STORE, props)
    assert any(expected in message for message in found), found


def test_the_access_map_shows_store_account_token_and_environment(tmp_path: Path) -> None:
    assert main(["preview", "--stack", "existing-dev", "--quiet", "--out", str(tmp_path)]) == 0
    access = (tmp_path / "existing-dev" / "access-map.md").read_text()
    assert (
        "| SecretStore payments/payments | `payments/payments-esc` | organization token, role "
        "7d1e3f5a-9b2c-4e6d-8f0a-1c3e5a7b9d2f | `my-pulumi-org/payments/prod` | `payments` |"
    ) in access
    assert "ESC environments the login Job opens" not in access


def test_a_store_may_not_take_a_workloads_account() -> None:
    values, secrets = load_stack_file("existing-dev")
    stores = json.loads(values["keyless:escStores"])
    stores[0].update(namespace="ci", serviceAccount="ci-runner")
    with pytest.raises(ConfigError) as error:
        load_stack_config({**values, "keyless:escStores": json.dumps(stores)}, secret_keys=secrets)
    assert "keyless:escStores[0]: uses the service account ci/ci-runner of keyless:workloads[1]" in str(error.value)
    stores[0].update(namespace="payments", serviceAccount="esc", expirationSeconds=300)
    with pytest.raises(ConfigError) as error:
        load_stack_config({**values, "keyless:escStores": json.dumps(stores)}, secret_keys=secrets)
    assert "keyless:escStores[0].expirationSeconds: 300 is out of range; expected an integer from 600" in str(
        error.value
    )


# --- the login Job and its canary open the environment ------------------------------------------

FAKE_PULUMI = """#!/bin/bash
case "$1" in
  login) exit 0 ;;
  whoami) printf '{"user": "acme", "organizations": ["acme"], "tokenInformation": {"name": "t", "organization": "acme"}}' ;;
  env)
    case "$ENV_OPEN" in
      ok) printf '{"database": {"password": "s3cr3t-value"}}\\n' ;;
      403) echo "error: [403] Forbidden: not authorized to open environment" >&2; exit 1 ;;
      404) echo "error: [404] Not Found: environment acme/payments/prod not found" >&2; exit 1 ;;
      garbage) printf 'database:\\n  password: s3cr3t-value\\n' ;;
    esac ;;
esac
"""


def _login(tmp_path: Path, env_open: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    for name in ("login.sh", LIBRARY_NAME):
        (tmp_path / name).write_text(script(name))
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    env = {
        **login_environment(LoginRequest.of("acme", "organization"), esc_environments=["acme/payments/prod"]),
        "PULUMI_OIDC_TOKEN_FILE": str(tmp_path / "token"),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ENV_OPEN": env_open,
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run(["bash", str(tmp_path / "login.sh")], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("answer", "status", "line"),
    [
        ("ok", 0, "Opened the ESC environment acme/payments/prod (its values were read and discarded)"),
        ("403", 4, "error: ESC environment acme/payments/prod: refused (403): the token's role cannot open it"),
        ("404", 5, "error: ESC environment acme/payments/prod: not found (404)"),
        ("garbage", 6, "error: ESC environment acme/payments/prod: the answer is not an environment's values"),
    ],
)
def test_the_login_opens_the_environment_and_tells_each_failure_apart(
    tmp_path: Path, answer: str, status: int, line: str
) -> None:
    result = _login(tmp_path, answer)
    assert result.returncode == status, result.stderr
    assert line in result.stdout + result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr, "the values are never printed"
    assert list(tmp_path.glob("tmp*")) == [], "nothing is left on disk"


def _login_job_env(run: ProgramRun) -> dict[str, str]:
    job = run.one("kubernetes:batch/v1:Job").plain_inputs
    return {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_login_job_opens_no_stores_environment_with_its_own_token(stack: ProgramRun) -> None:
    """Opening a store's environment as the login workload would need that workload's role to read
    it too: every store's secrets granted to one more account."""
    assert "KEYLESS_ESC_ENVIRONMENTS" not in _login_job_env(stack)


def _with_login_workload(**keys: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    values, secrets = load_stack_file("existing-dev")
    workloads = json.loads(values["keyless:workloads"])
    workloads[1].update(keys)
    return {**values, "keyless:workloads": json.dumps(workloads)}, tuple(secrets)


def test_the_login_job_opens_the_environments_its_workload_names_and_only_those() -> None:
    values, secrets = _with_login_workload(escEnvironments=["platform/ci", "payments/prod"])
    env = _login_job_env(run_stack(values, secret_keys=secrets))
    assert env["KEYLESS_ESC_ENVIRONMENTS"] == "my-pulumi-org/platform/ci my-pulumi-org/payments/prod"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {"escEnvironments": ["my-pulumi-org/platform/ci"]},
            "keyless:workloads[1].escEnvironments[0]: 'my-pulumi-org/platform/ci' is not an ESC environment; "
            "expected <project>/<environment>, in the stack's organization",
        ),
        (
            {"escEnvironments": ["platform/ci"], "runsLoginJob": False},
            "keyless:workloads[1].escEnvironments: ['platform/ci'] is not accepted without runsLoginJob: true",
        ),
    ],
)
def test_a_workloads_environments_are_refused_where_the_login_job_cannot_open_them(
    keys: dict[str, Any], expected: str
) -> None:
    values, secrets = _with_login_workload(**keys)
    with pytest.raises(ConfigError) as error:
        load_stack_config(values, secret_keys=secrets)
    assert expected in str(error.value)


# --- the doctor ------------------------------------------------------------------------------------


def test_the_doctor_diagnoses_a_stores_token_as_external_secrets_requests_it(tmp_path: Path, capsys: Any) -> None:
    iss = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    path = token_file(tmp_path / "t.jwt", "payments", "payments-esc", "urn:pulumi:org:my-pulumi-org", issuer=iss)
    argv = [
        "doctor",
        "--stack",
        "existing-dev",
        "--token-file",
        str(path),
        "--esc-store",
        "payments/payments",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "admitted"
    assert report["request"]["token_type"] == "organization" and report["request"]["lifetime_seconds"] == 600
    assert main([*argv[:-3], "--esc-store", "payments/nope"]) == 2
    assert "is not an ESC store of the stack; its ESC stores: payments/payments" in capsys.readouterr().err


# --- who may read a store ------------------------------------------------------------------------


def _store(**changes: Any) -> dict[str, str]:
    values, _ = load_stack_file("existing-dev")
    (store,) = json.loads(values["keyless:escStores"])
    return {**values, "keyless:escStores": json.dumps([{**store, **changes}])}


def test_a_cluster_store_is_read_from_its_own_namespace_unless_it_names_others() -> None:
    store = run_stack(_store(clusterScoped=True)).one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert crd_errors(store.plain_inputs, "external-secrets.io_clustersecretstores.yaml") == []
    assert store.plain_inputs["spec"]["conditions"] == [{"namespaces": ["payments"]}]
    run = run_stack(_store(clusterScoped=True, allowedNamespaces=["payments", "billing"]))
    readers = run.one("kubernetes:external-secrets.io/v1:ClusterSecretStore").plain_inputs
    assert crd_errors(readers, "external-secrets.io_clustersecretstores.yaml") == []
    assert readers["spec"]["conditions"] == [{"namespaces": ["payments", "billing"]}]
    assert all(v.policy != "esc-cluster-store-names-its-namespaces" for v in violations(run))
    access = access_map.render(run, "keyless/existing-dev")
    assert "| `my-pulumi-org/payments/prod` | `payments`, `billing` |" in access


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"allowedNamespaces": ["billing"]},
            "keyless:escStores[0].allowedNamespaces: applies to clusterScoped stores only",
        ),
        (
            {"clusterScoped": True, "allowedNamespaces": ["billing"]},
            "keyless:escStores[0].allowedNamespaces: ['billing'] leaves out 'payments', where its ExternalSecrets are",
        ),
        (
            {"clusterScoped": True, "allowedNamespaces": ["payments", "kube-system"]},
            "keyless:escStores[0].allowedNamespaces[1]: 'kube-system' is the cluster's own namespace",
        ),
        (
            {"clusterScoped": True, "allowedNamespaces": ["payments", "external-secrets"]},
            "keyless:escStores[0].allowedNamespaces[1]: 'external-secrets' is the namespace of External Secrets'",
        ),
        (
            {"expirationSeconds": 10800},
            "keyless:escStores[0].expirationSeconds: '10800s' (10800s) exceeds keyless:issuer.maxExpirationSeconds",
        ),
    ],
)
def test_what_would_widen_a_stores_reach_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_stack_config(_store(**changes), stack="existing-dev")
    assert message in str(error.value)
