"""Benchmark: the project's offline preview and import cost against a bare program, side by side.

    .venv/bin/python benchmarks/run.py [--runs N]

For each committed stack of a cloud that the bare program mirrors, it times, in fresh processes
(so import cost counts, as it does for `pulumi preview`):

* import: loading the modules the program needs, before any resource is registered (the provider
  SDKs load their submodules lazily, so most of their cost shows in the preview row);
* preview: the whole program on the mock engine with the stack's config (project), and the bare
  program registering the same resource types inline (bare).

It prints the medians and the project/bare ratio; the target is at most 1.5x. A last row shows what
the lazy cloud imports save: the GKE preview with the AWS SDK's modules loaded up front, as a
program importing every component eagerly would.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STACK_CLOUDS = {"dev": "gke", "eks-dev": "eks"}

PROJECT_IMPORTS = {
    "gke": "import stack_config, components.gke_cluster, components.gcp_workload_identity, components.pulumi_cloud_trust, "
    "components.oidc_login_runner, components.restricted_namespace, components.workload_service_account",
    "eks": "import stack_config, components.eks_cluster, components.eks_oidc_provider, components.irsa_role, "
    "components.pulumi_cloud_trust, components.oidc_login_runner, components.restricted_namespace, "
    "components.workload_service_account",
}
BARE_IMPORTS = {
    "gke": "import pulumi, pulumi_gcp.container, pulumi_gcp.serviceaccount, pulumi_kubernetes.core.v1, "
    "pulumi_kubernetes.batch.v1, pulumi_kubernetes.networking.v1, pulumi_pulumiservice",
    "eks": "import pulumi, pulumi_aws.eks, pulumi_aws.iam, pulumi_kubernetes.core.v1, pulumi_kubernetes.batch.v1, "
    "pulumi_kubernetes.networking.v1, pulumi_pulumiservice",
}

PREVIEW_PROJECT = """
import sys; sys.path.insert(0, {root!r})
{eager}
from offline_preview.engine import run_program
from offline_preview.stacks import load_stack_file
values, secrets = load_stack_file({stack!r})
run_program(values, stack={stack!r}, secret_keys=secrets)
"""
PREVIEW_BARE = """
import os, sys; sys.path.insert(0, {root!r}); os.environ["BARE_CLOUD"] = {cloud!r}
from pathlib import Path
from offline_preview.engine import run_program
run_program({{"aws:region": "us-west-2"}}, program=Path({root!r}) / "benchmarks" / "bare_program.py")
"""


def timed(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per measurement (median reported)")
    args = parser.parse_args()
    timed("import pulumi", 2)  # warm the file cache so the first row is not penalised

    rows = []
    for cloud in ("gke", "eks"):
        rows.append(
            (f"import ({cloud})", timed(PROJECT_IMPORTS[cloud], args.runs), timed(BARE_IMPORTS[cloud], args.runs))
        )
    for stack, cloud in STACK_CLOUDS.items():
        project = timed(PREVIEW_PROJECT.format(root=str(ROOT), stack=stack, eager=""), args.runs)
        bare = timed(PREVIEW_BARE.format(root=str(ROOT), cloud=cloud), args.runs)
        rows.append((f"preview {stack}", project, bare))

    print(f"median of {args.runs} fresh processes, Python {sys.version.split()[0]}")
    print(f"{'measurement':<22} {'project':>9} {'bare':>9} {'ratio':>7}")
    worst = 0.0
    for name, project, bare in rows:
        ratio = project / bare
        worst = max(worst, ratio)
        print(f"{name:<22} {project:>8.3f}s {bare:>8.3f}s {ratio:>6.2f}x")
    print(f"worst ratio {worst:.2f}x (target <= 1.50x)")
    eager = "import pulumi_aws.iam as iam, pulumi_aws.ec2 as ec2, pulumi_aws.eks as eks; iam.Role; ec2.get_vpc_output; eks.Cluster"
    lazy = timed(PREVIEW_PROJECT.format(root=str(ROOT), stack="dev", eager=""), args.runs)
    loaded = timed(PREVIEW_PROJECT.format(root=str(ROOT), stack="dev", eager=eager), args.runs)
    print(
        f"preview dev: {lazy:.3f}s with cloud modules loaded per cloud, {loaded:.3f}s with the AWS SDK loaded up front"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
