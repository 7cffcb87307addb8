"""Benchmark: the project's offline preview and import cost against a bare program, side by side.

    .venv/bin/python benchmarks/run.py [--runs N] [--baseline GIT-REF]

For each committed stack of a cloud that the bare program mirrors, it times, in fresh processes
(so import cost counts, as it does for `pulumi preview`):

* import: loading the modules the program needs, before any resource is registered (the provider
  SDKs load their submodules lazily, so most of their cost shows in the preview row);
* preview: the whole program on the mock engine with the stack's config (project), and the bare
  program registering the same resource types inline (bare).

It prints the medians and the project/bare ratio. With ``--baseline`` it also times the preview of
an earlier commit (checked out into a temporary git worktree) in the same run, for a before/after
comparison on one machine under one load. A last row shows what the lazy cloud imports save.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Fresh processes as after an install: modules compiled once, their bytecode reused.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
STACK_CLOUDS = {"dev": "gke", "eks-dev": "eks"}

PROJECT_IMPORTS = {
    "gke": "import keyless.config, keyless.components.gke_cluster, keyless.components.gcp_workload_identity, "
    "keyless.components.pulumi_cloud_trust, keyless.components.oidc_login_job, keyless.components.restricted_namespace, "
    "keyless.components.workload_service_account",
    "eks": "import keyless.config, keyless.components.eks_cluster, keyless.components.eks_oidc_provider, keyless.components.irsa_role, "
    "keyless.components.pulumi_cloud_trust, keyless.components.oidc_login_job, keyless.components.restricted_namespace, "
    "keyless.components.workload_service_account",
}
BARE_IMPORTS = {
    "gke": "import pulumi, pulumi_gcp.container, pulumi_gcp.serviceaccount, pulumi_kubernetes.core.v1, "
    "pulumi_kubernetes.batch.v1, pulumi_kubernetes.networking.v1, pulumi_pulumiservice",
    "eks": "import pulumi, pulumi_aws.eks, pulumi_aws.iam, pulumi_kubernetes.core.v1, pulumi_kubernetes.batch.v1, "
    "pulumi_kubernetes.networking.v1, pulumi_pulumiservice",
}

PREVIEW_PROJECT = """
from pathlib import Path
{eager}
from keyless.config.read import from_stack_file
from keyless.preview.engine import run_program
raw = from_stack_file({stack!r}, Path({root!r}))
run_program(raw.values, stack={stack!r}, secret_keys=raw.secret_keys, program=Path({root!r}) / "__main__.py")
"""
# The layout before the keyless package (offline_preview/ at the top), for --baseline.
PREVIEW_BEFORE_PACKAGE = """
import sys; sys.path.insert(0, {root!r})
from offline_preview.engine import run_program
from offline_preview.stacks import load_stack_file
values, secrets = load_stack_file({stack!r})
run_program(values, stack={stack!r}, secret_keys=secrets)
"""
PREVIEW_BARE = """
import os; os.environ["BARE_CLOUD"] = {cloud!r}
from pathlib import Path
from keyless.preview.engine import run_program
run_program({{"aws:region": "us-west-2"}}, program=Path({root!r}) / "benchmarks" / "bare_program.py")
"""


def interleaved(programs: list[tuple[str, Path]], runs: int) -> list[float]:
    """Median seconds of each ``(code, cwd)``, run in turn so that drift in load hits all alike."""
    samples: list[list[float]] = [[] for _ in programs]
    for _ in range(runs):
        for index, (code, cwd) in enumerate(programs):
            start = time.perf_counter()
            subprocess.run([PYTHON, "-c", code], cwd=cwd, check=True, capture_output=True, env=ENV)
            samples[index].append(time.perf_counter() - start)
    return [statistics.median(each) for each in samples]


def timed(code: str, runs: int, cwd: Path = ROOT) -> float:
    return interleaved([(code, cwd)], runs)[0]


def worktree(ref: str, folder: Path) -> Path:
    tree = folder / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True)
    return tree


def baseline_code(tree: Path, stack: str) -> str:
    """The preview of ``stack`` as the checked-out commit had it."""
    template = PREVIEW_PROJECT if (tree / "keyless" / "preview").is_dir() else PREVIEW_BEFORE_PACKAGE
    return template.format(root=str(tree), stack=stack, eager="")


def doctor_seconds(runs: int) -> float:
    """`keyless doctor` on a token for the dev stack's workload, as a user runs it (a fresh process)."""
    import base64
    import json

    def part(document: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")

    claims = {
        "iss": "https://container.googleapis.com/v1/projects/my-gcp-project/locations/us-central1/clusters/keyless-dev",
        "sub": "system:serviceaccount:pulumi-runner:pulumi-runner",
        "aud": ["urn:pulumi:org:my-pulumi-org"],
        "exp": int(time.time()) + 3600,
        "kubernetes.io": {"namespace": "pulumi-runner", "serviceaccount": {"name": "pulumi-runner"}},
    }
    with tempfile.TemporaryDirectory() as folder:
        token = Path(folder) / "t.jwt"
        token.write_text(f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl")
        code = (
            "import sys; from keyless.cli import main; "
            f"sys.exit(main(['doctor', '--stack', 'dev', '--token-file', {str(token)!r}]))"
        )
        return timed(code, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per measurement (median reported)")
    parser.add_argument("--baseline", metavar="GIT-REF", help="also time this commit's preview, for before/after")
    args = parser.parse_args()
    timed("import pulumi", 2)  # warm the file cache so the first row is not penalised

    rows = []
    for cloud in ("gke", "eks"):
        rows.append(
            (f"import ({cloud})", timed(PROJECT_IMPORTS[cloud], args.runs), timed(BARE_IMPORTS[cloud], args.runs))
        )
    with tempfile.TemporaryDirectory() as folder:
        tree = worktree(args.baseline, Path(folder)) if args.baseline else None
        try:
            for stack, cloud in STACK_CLOUDS.items():
                programs = [
                    (PREVIEW_PROJECT.format(root=str(ROOT), stack=stack, eager=""), ROOT),
                    (PREVIEW_BARE.format(root=str(ROOT), cloud=cloud), ROOT),
                ]
                if tree is not None:
                    programs.append((baseline_code(tree, stack), tree))
                medians = interleaved(programs, args.runs)
                rows.append((f"preview {stack}", medians[0], medians[1]))
                if tree is not None:
                    rows.append((f"  at {args.baseline}", medians[2], medians[1]))
        finally:
            if tree is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)

    print(f"median of {args.runs} fresh processes, Python {sys.version.split()[0]}")
    print(f"{'measurement':<22} {'project':>9} {'bare':>9} {'ratio':>7}")
    worst = 0.0
    for name, project, bare in rows:
        ratio = project / bare
        if not name.startswith("  at "):
            worst = max(worst, ratio)
        print(f"{name:<22} {project:>8.3f}s {bare:>8.3f}s {ratio:>6.2f}x")
    print(f"worst ratio {worst:.2f}x (target <= 1.15x)")
    print(f"keyless doctor --stack dev --token-file t.jwt: {doctor_seconds(args.runs):.3f}s (target < 2s)")
    eager = "import pulumi_aws.iam as iam, pulumi_aws.ec2 as ec2, pulumi_aws.eks as eks; iam.Role; ec2.get_vpc_output; eks.Cluster"
    lazy = timed(PREVIEW_PROJECT.format(root=str(ROOT), stack="dev", eager=""), args.runs)
    loaded = timed(PREVIEW_PROJECT.format(root=str(ROOT), stack="dev", eager=eager), args.runs)
    print(
        f"preview dev: {lazy:.3f}s with cloud modules loaded per cloud, {loaded:.3f}s with the AWS SDK loaded up front"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
