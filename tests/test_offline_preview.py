"""The offline preview: its output, its artifacts, and independent validators over its YAML."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from keyless.cli import main
from keyless.preview.artifacts import preview_stack
from tests.conftest import stack_flags, stack_names

ROOT = Path(__file__).resolve().parent.parent
STACKS = stack_names()
SIDECAR_EXAMPLE = ROOT / "examples" / "python-keyless-sidecar"
CUSTOM_API_GROUPS = ("external-secrets.io/", "pulumi.com/")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preview")
    assert main(["preview", *stack_flags(), "--quiet", "--out", str(out)]) == 0
    # The sidecar's pod spec is validated like the stacks' objects (it runs in users' own pods).
    sidecar = [
        "preview",
        "--stack",
        "example",
        "--quiet",
        "--root",
        str(SIDECAR_EXAMPLE),
        "--out",
        str(out / "sidecar"),
    ]
    assert main(sidecar) == 0
    return out


def _checkov() -> str:
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(ROOT / ".venv-checkov" / "bin" / "checkov"),
        shutil.which("checkov") or "",
    ]
    found = next((c for c in candidates if c and Path(c).exists()), None)
    if found is None:
        pytest.fail("checkov is not installed: scripts/test installs it into .venv-checkov")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_writes_its_artifacts(artifacts: Path, stack: str) -> None:
    folder = artifacts / stack
    documents = [yaml.safe_load(path.read_text()) for path in sorted((folder / "kubernetes").glob("*.yaml"))]
    kinds = sorted({document["kind"] for document in documents})
    canary = ["CronJob"] if stack == "eks-mixed" else []  # the stack that turns the canary on
    esc = ["ExternalSecret", "Role", "RoleBinding", "SecretStore"] if stack == "existing-dev" else []  # its ESC store
    # Its Operator stack and its workflow runner's agents.
    platform = ["Deployment", "NetworkPolicy", "Role", "RoleBinding", "Stack"] if stack == "platform" else []
    assert kinds == sorted(
        {"ConfigMap", "Job", "Namespace", "NetworkPolicy", "ServiceAccount", *canary, *esc, *platform}
    )
    issuer = json.loads(next((folder / "pulumi-cloud").glob("oidc-issuer-*.json")).read_text())
    assert issuer["policies"] and all(p["decision"] == "allow" for p in issuer["policies"])
    login = json.loads((folder / "login-job.json").read_text())
    assert login["tokenAudience"] == "urn:pulumi:org:my-pulumi-org"
    assert login["loginCommand"][3:5] == ["--oidc-token", "file:///var/run/secrets/pulumi/token"]
    tree = (folder / "preview.txt").read_text()
    assert 'kubeconfig: "[secret]"' in tree
    assert "certificate-authority-data" not in tree and "get-token" not in tree


def test_eks_artifacts_include_the_trust_policy_with_placeholders(artifacts: Path) -> None:
    (policy_file,) = (artifacts / "eks-dev" / "aws").glob("iam-role-*-trust-policy.json")
    statement = json.loads(policy_file.read_text())["Statement"][0]
    assert statement["Principal"]["Federated"] == (
        "arn:aws:iam::<account-id>:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/<oidc-id>"
    )
    assert (
        statement["Condition"]["StringEquals"]["oidc.eks.us-west-2.amazonaws.com/id/<oidc-id>:aud"]
        == "sts.amazonaws.com"
    )


def test_tree_shows_parents_like_pulumi_preview(artifacts: Path) -> None:
    tree = (artifacts / "dev" / "preview.txt").read_text()
    lines = tree.splitlines()
    runner = next(i for i, line in enumerate(lines) if "keyless:index:OidcLoginJob" in line)
    job = next(line for line in lines[runner:] if "─ kubernetes:batch/v1:Job" in line)
    assert job.index("─ kubernetes") > lines[runner].index("─ keyless"), "the Job is drawn as the runner's child"
    assert "+ 18 to create" in tree
    assert 'loginJobName: "oidc-login-<auto>"' in tree


def _validator_version(stack_folder: Path) -> str:
    return str(json.loads((stack_folder / "metadata.json").read_text())["kubernetesVersion"])


@pytest.mark.parametrize("stack", [*STACKS, "sidecar/example"])
@pytest.mark.validators
def test_kubernetes_yaml_passes_strict_schema_validation(artifacts: Path, stack: str) -> None:
    folder = artifacts / stack
    # Custom resources are validated against their own CRDs instead (tests/test_esc_store.py).
    files = sorted(
        str(path)
        for path in (folder / "kubernetes").glob("*.yaml")
        if not yaml.safe_load(path.read_text())["apiVersion"].startswith(CUSTOM_API_GROUPS)
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kubernetes-validate"),
            "--strict",
            "--quiet",
            "-k",
            _validator_version(folder),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.validators
def test_kubernetes_yaml_has_no_failed_checkov_checks(artifacts: Path) -> None:
    result = subprocess.run(
        [_checkov(), "--config-file", str(ROOT / ".checkov.yaml"), "-d", str(artifacts), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0
    assert summary["passed"] >= 80 * len(STACKS)


def test_every_skipped_checkov_check_states_its_reason() -> None:
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    skipped = [i for i, line in enumerate(lines) if line.strip().startswith("- CKV")]
    assert skipped, "the preview's YAML is checked with the skips listed in .checkov.yaml"
    for index in skipped:
        assert lines[index - 1].strip().startswith("#"), f"{lines[index].strip()} has no reason above it"


def test_artifacts_are_byte_identical_across_runs(tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        assert main(["preview", *stack_flags(), "--quiet", "--out", str(tmp_path / attempt)]) == 0
    first = {p.relative_to(tmp_path / "first"): p.read_bytes() for p in (tmp_path / "first").rglob("*") if p.is_file()}
    second = {
        p.relative_to(tmp_path / "second"): p.read_bytes() for p in (tmp_path / "second").rglob("*") if p.is_file()
    }
    assert first == second and len(first) > 20


def test_bad_config_exits_non_zero_with_the_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    stack["config"]["keyless:loginJob"]["image"] = "pulumi/pulumi-base:latest"
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump(stack))
    assert main(["preview", "--stack", "broken", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "keyless:loginJob.image: 'pulumi/pulumi-base:latest' is not pinned" in error
    assert "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_a_stack_the_mandatory_guardrails_refuse_is_not_a_silent_preview(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A program's own mandatory violation: printed, and the preview exits 1 (its artifacts written)."""
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi_kubernetes as k8s\n"
        "k8s.core.v1.Secret('token', string_data={'PULUMI_ACCESS_TOKEN': 'pul-' + '0' * 40})\n"
    )
    assert main(["preview", "--root", str(tmp_path), "--quiet", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "[mandatory] no-stored-pulumi-token: stringData.PULUMI_ACCESS_TOKEN holds a stored Pulumi token" in err
    assert (tmp_path / "out" / "dev" / "policy.txt").exists()


def test_scripts_are_block_scalars_and_placeholders_survive_markdown(artifacts: Path) -> None:
    config_map = next((artifacts / "dev" / "kubernetes").glob("*configmap-oidc-login-script.yaml"))
    text = config_map.read_text()
    assert "  login.sh: |\n    #!/bin/bash\n" in text, "a reviewer reads the script line by line"
    from keyless.core.login_job import login_script

    assert yaml.safe_load(text)["data"]["login.sh"] == login_script()
    access = (artifacts / "eks-mixed" / "access-map.md").read_text()
    assert "arn:aws:iam::&lt;account-id&gt;:role/" in access and "#lt;account-id#gt;" in access
    assert "<account-id>" not in access


def test_an_example_previews_offline_as_the_docs_say() -> None:
    assert preview_stack("example", ROOT / "examples" / "python-irsa").run.registrations
