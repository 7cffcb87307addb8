"""The provider-free core: one home per rule, used by the components and the stack config alike."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from keyless.components.oidc_login_job import OidcLoginJob
from keyless.components.pulumi_cloud_trust import PulumiCloudTrust
from keyless.config import ConfigError, load_stack_config
from keyless.core.login_job import LOGIN_JOB
from keyless.core.problems import InvalidArgumentError
from keyless.core.pulumi_cloud import TokenType
from keyless.preview.engine import run_program
from tests.conftest import ROOT, load_stack_file, run_component, run_stack

PROVIDER_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp", "pulumi_kubernetes", "pulumi_pulumiservice")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"')))


@pytest.mark.parametrize(
    "module", ["keyless.core", "keyless.config", "keyless.core.aws", "keyless.core.gcp", "keyless.core.azure"]
)
def test_the_core_and_the_stack_config_load_no_provider_sdk(module: str) -> None:
    code = f"import {module}, keyless.core.login_job, keyless.core.pulumi_cloud, keyless.config.sections"
    loaded = _loaded_after(code)
    assert not set(PROVIDER_SDKS) & set(loaded)


def test_reading_a_committed_stack_loads_no_provider_sdk() -> None:
    code = (
        "from pathlib import Path\nfrom keyless.config import parse, from_stack_file\n"
        f"parse(from_stack_file('existing-dev', Path({str(ROOT)!r})))"
    )
    assert not set(PROVIDER_SDKS) & set(_loaded_after(code))


@pytest.mark.parametrize(
    ("stack", "own", "absent"),
    [
        ("dev", "pulumi_gcp", ("pulumi_aws", "pulumi_azure_native")),
        ("eks-dev", "pulumi_aws", ("pulumi_gcp", "pulumi_azure_native")),
        ("aks-dev", "pulumi_azure_native", ("pulumi_aws", "pulumi_gcp")),
    ],
)
def test_a_stack_never_loads_the_other_clouds_sdk(stack: str, own: str, absent: tuple[str, ...]) -> None:
    code = (
        "from pathlib import Path\nfrom keyless.preview.artifacts import preview_stack\n"
        f"preview_stack({stack!r}, Path({str(ROOT)!r}))"
    )
    loaded = _loaded_after(code)
    assert not set(absent) & set(loaded)
    assert {own, "pulumi_kubernetes"} <= set(loaded), "the probe must see the program's imports"


def _job_args(**changes: Any) -> Any:
    return {
        "namespace": "ci",
        "service_account_name": "runner",
        "organization": "acme",
        "token_type": TokenType.TEAM,
        "team_name": "platform",
        **changes,
    }


def test_an_output_that_resolves_to_a_bad_value_fails_the_update_with_the_same_message() -> None:
    plain = str(LOGIN_JOB.check(_job_args(namespace="Not_A_Label"))[0])

    def with_output() -> None:
        OidcLoginJob("login", _job_args(namespace=pulumi.Output.from_input("Not_A_Label")))

    run = run_program({}, program=with_output, raise_errors=False)
    assert run.error is not None, "the update must fail when the Output resolves"
    assert plain in str(run.error)
    assert plain.startswith("namespace: 'Not_A_Label' is not a valid Kubernetes name")


def test_an_output_that_resolves_to_a_good_value_is_used_as_given() -> None:
    run = run_component(lambda: OidcLoginJob("login", _job_args(namespace=pulumi.Output.from_input("ci"))))
    assert run.one("kubernetes:batch/v1:Job").plain_inputs["metadata"]["namespace"] == "ci"


def test_every_plain_problem_is_reported_at_once_before_anything_is_registered() -> None:
    bad = _job_args(namespace="NS", image="x:latest", token_expiration_seconds=1)
    run = run_program({}, program=lambda: OidcLoginJob("login", bad), raise_errors=False)
    assert isinstance(run.error, InvalidArgumentError)
    assert len(run.error.problems) == 3
    assert run.registrations == []


def test_a_misspelt_argument_is_refused_not_ignored() -> None:
    with pytest.raises(InvalidArgumentError, match=r"imagePullPolicy: unknown key; expected one of: namespace,"):
        run_component(lambda: OidcLoginJob("login", _job_args(imagePullPolicy="Always")))


def test_the_component_and_the_stack_config_refuse_a_value_in_the_same_words(dev_config: dict[str, Any]) -> None:
    """One rule, two spellings of its key: a change to the rule moves both."""
    with pytest.raises(InvalidArgumentError) as component:
        run_component(lambda: OidcLoginJob("login", _job_args(backend_url="https://api.example.com/")))
    config = {**dev_config, "keyless:loginJob": json.dumps({"backendUrl": "https://api.example.com/"})}
    with pytest.raises(ConfigError) as stack:
        load_stack_config(config)
    reason = "'https://api.example.com/' is not accepted; expected an https:// URL without a trailing slash"
    assert f"backend_url: {reason}" in str(component.value)
    assert f"keyless:loginJob.backendUrl: {reason}" in str(stack.value)


def test_the_trust_component_refuses_what_the_stack_config_refuses() -> None:
    workload: Any = {"namespace": "ci", "service_account": "r", "token_type": "team"}
    with pytest.raises(InvalidArgumentError, match=r"workloads\[0\]: token_type 'team' needs team_name; got none"):
        run_component(
            lambda: PulumiCloudTrust(
                "t",
                {
                    "organization": "acme",
                    "issuer_url": "https://x.example",
                    "issuer_name": "x",
                    "workloads": [workload],
                },
            )
        )


def test_deprecated_keys_still_work_with_a_warning_naming_the_new_key(dev_config: dict[str, Any]) -> None:
    workloads = json.loads(dev_config["keyless:workloads"])
    workloads[0]["runner"] = workloads[0].pop("runsLoginJob")
    login_job = dev_config.pop("keyless:loginJob")
    old = {**dev_config, "keyless:workloads": json.dumps(workloads), "keyless:runner": login_job}
    config = load_stack_config(old)
    assert config.login_workload is not None
    assert config.login_job["exchanged_token_lifetime"] == "1h"
    assert config.warnings == (
        "keyless:runner is deprecated; use keyless:loginJob (the old key goes in 0.3.0)",
        "keyless:workloads[0].runner is deprecated; use keyless:workloads[0].runsLoginJob (the old key goes in 0.3.0)",
    )
    assert run_stack(old).one("kubernetes:batch/v1:Job")


def test_an_old_key_beside_its_new_one_is_refused(dev_config: dict[str, Any]) -> None:
    both = {**dev_config, "keyless:runner": dev_config["keyless:loginJob"]}
    with pytest.raises(ConfigError, match=r"keyless:runner: is deprecated and keyless:loginJob is also set"):
        load_stack_config(both)


def test_the_committed_stacks_use_no_deprecated_key() -> None:
    for stack in ("dev", "eks-dev", "existing-dev"):
        values, secrets = load_stack_file(stack)
        assert load_stack_config(values, stack=stack, secret_keys=secrets).warnings == ()


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [
        *sorted((ROOT / "keyless" / "scripts").glob("*.sh")),
        *sorted((ROOT / "benchmarks").glob("*.sh")),
        ROOT / "scripts" / "test",
        ROOT / ".ci" / "run",
    ]
    shellcheck = Path(sys.executable).parent / "shellcheck"
    # -x follows the library the scripts source, as they source it (from their own folder).
    result = subprocess.run(
        [str(shellcheck), "-x", *map(str, scripts)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "keyless" / "scripts",
    )
    assert result.returncode == 0, result.stdout
