"""``keyless check`` and ``keyless preview`` on programs this project did not write: Pulumi's own
published GKE and EKS samples (ported to Python, flaws included), programs that fail, stack files
that are not YAML. What the user gets is a finding or one clear line, never our traceback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from keyless.cli import main
from keyless.commands.flags import EXIT_CANNOT_RUN, EXIT_FOUND
from tests.conftest import ROOT

SAMPLES = ROOT / "tests" / "samples"


@pytest.mark.parametrize(
    ("sample", "flaws"),
    [
        (
            "gke-published",
            [
                "login-keeps-the-token-secret: data.entrypoint.sh passes the token itself to --oidc-token",
                "login-keeps-the-token-secret: data.entrypoint.sh prints the token (echo $OIDC_GKE_TOKEN)",
                "[mandatory] login-pod-hardened: container 'runner': image 'pulumi/pulumi:latest' is not pinned",
                "[mandatory] login-pod-hardened: container 'runner' does not run as a non-root numeric UID",
                "[mandatory] login-pod-hardened: container 'runner' allows privilege escalation",
                "[mandatory] login-pod-hardened: container 'runner' does not drop all capabilities",
                "[advisory] issuer-url-is-its-clusters-iss: url 'https://container.googleapis.com/v1/projects/"
                "example-project/locations/us-central1/clusters/cluster-",
                "ends with '/'; GKE tokens' iss has none",
                "[mandatory] issuer-token-lifetime-capped: maxExpirationSeconds is unset",
                "[advisory] organization-token-names-a-role: policies[0] grants an organization token with the legacy",
                "[mandatory] issuer-trust-matches-declared-workloads: policies[0] trusts default/default, a service "
                "account this stack does not declare",
            ],
        ),
        (
            "eks-published",
            [
                "login-keeps-the-token-secret: data.entrypoint.sh passes the token itself to --oidc-token",
                "login-keeps-the-token-secret: data.entrypoint.sh prints the token (echo $EKS_ID_TOKEN)",
                "[mandatory] login-script-pod-hardened: container 'runner': image 'pulumi/pulumi:latest' is not pinned",
                "[mandatory] login-script-pod-hardened: container 'runner' does not run as a non-root numeric UID",
                "[mandatory] irsa-trust-pins-audience-and-subject: no '<issuer>:aud' condition equal to "
                "'sts.amazonaws.com'",
                "[mandatory] issuer-token-lifetime-capped: maxExpirationSeconds is unset",
            ],
        ),
    ],
)
def test_every_flaw_of_pulumis_published_samples_is_named(sample: str, flaws: list[str], capsys: Any) -> None:
    assert main(["check", "--root", str(SAMPLES / sample)]) == EXIT_FOUND
    out = capsys.readouterr().out
    for flaw in flaws:
        assert flaw in out, flaw


def _program(tmp_path: Path, body: str, config: str = "") -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(config or "config:\n  mine:x: '1'\n")
    (tmp_path / "__main__.py").write_text(body)
    return tmp_path


def test_a_program_that_raises_is_reported_as_its_own_error_with_its_file_and_line(tmp_path: Path, capsys: Any) -> None:
    root = _program(tmp_path, "import pulumi\n\nvalue = {}\nprint(value['missing'])\n")
    for command in ("check", "preview"):
        assert main([command, "--root", str(root)]) == EXIT_CANNOT_RUN
        err = capsys.readouterr().err
        assert f"error: stack 'dev': {root / '__main__.py'}:4: KeyError: 'missing'" in err
        assert "Traceback" not in err and "keyless/" not in err


def test_a_failure_inside_an_apply_names_the_programs_line(tmp_path: Path, capsys: Any) -> None:
    body = "import pulumi_kubernetes as k8s\n\ncm = k8s.core.v1.ConfigMap('c')\ncm.metadata.apply(lambda m: 1 / 0)\n"
    root = _program(tmp_path, body)
    assert main(["check", "--root", str(root)]) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert f"{root / '__main__.py'}:4: ZeroDivisionError" in err
    assert "Traceback" not in err


def test_a_stack_file_that_is_not_yaml_is_named_by_file_line_and_column(tmp_path: Path, capsys: Any) -> None:
    root = _program(tmp_path, "", config="config:\n  mine:x: [1, 2\n  mine:y: 3\n")
    for command in (["check"], ["preview"], ["doctor", "--stack", "dev", "--claims-file", "-"]):
        assert main([*command, "--root", str(root)]) == EXIT_CANNOT_RUN
        err = capsys.readouterr().err
        assert f"{root / 'Pulumi.dev.yaml'}:3:" in err and "not valid YAML" in err, err
        assert "Traceback" not in err


def test_an_empty_organization_is_refused_not_taken_as_null(tmp_path: Path, capsys: Any) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", tmp_path / "__main__.py")
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "\n".join(
            "  keyless:organization:" if line.startswith("  keyless:organization:") else line
            for line in text.splitlines()
        )
    )
    assert main(["preview", "--root", str(tmp_path), "--stack", "dev", "--quiet"]) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "keyless:organization: '' is empty" in err
    assert "null" not in err


def test_two_stacks_granting_one_namespace_and_account_of_a_project_are_reported(tmp_path: Path, capsys: Any) -> None:
    """A workload identity pool is the project's: the same ns/sa in a second cluster holds both grants."""
    import json

    import yaml

    (tmp_path / "Pulumi.yaml").write_text(f"name: keyless\nruntime: python\nmain: {ROOT}\n")
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    other = json.loads(json.dumps(dev))
    other["config"]["keyless:gke"]["clusterName"] = "keyless-other"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev))
    (tmp_path / "Pulumi.other.yaml").write_text(yaml.safe_dump(other))
    assert main(["check", "--root", str(tmp_path), "--json"]) == 0  # advisory: the exit status is unchanged
    (finding,) = json.loads(capsys.readouterr().out)["acrossStacks"]
    assert finding.startswith(
        "pulumi-runner/pulumi-runner in the pool my-gcp-project.svc.id.goog is granted by the stacks dev, other"
    )
    other["config"]["keyless:workloads"][0]["namespace"] = "pulumi-runner-2"
    (tmp_path / "Pulumi.other.yaml").write_text(yaml.safe_dump(other))
    assert main(["check", "--root", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["acrossStacks"] == []
