"""Benchmark: where a workload's cost goes. The dev stack with 1, 50 and 200 workloads against the
bare program registering the same resources inline, side by side, in fresh processes.

    .venv/bin/python benchmarks/scale.py [--runs N] [--sizes 1,50,200]

Each workload (a Google service account with Workload Identity and one project role, its
ServiceAccount, a policy on the issuer; namespaces shared ten ways) is what the dev stack registers
for one; the bare program registers the same resources, the per-workload components included (the
SDK registers a component like any resource), with none of the project's config model, validation,
aliases or helpers. It prints the medians, the project/bare ratio (goal at 200: <= 1.15x), and the
SDK's own cost per registered resource: the bare program's extra time over its extra resources,
from the smallest size to the largest.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Fresh processes as after an install: modules compiled once, their bytecode reused.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

PROJECT = """
import json
from pathlib import Path
from keyless.config.read import from_stack_file
from keyless.preview.engine import run_program
raw = from_stack_file("dev", Path({root!r}))
values = dict(raw.values)
values["keyless:workloads"] = json.dumps(json.loads(values["keyless:workloads"]) + {extra!r})
run = run_program(values, stack="dev", secret_keys=raw.secret_keys, program=Path({root!r}) / "__main__.py")
print(len(run.registrations))
"""
BARE = """
import os
os.environ["BARE_CLOUD"] = "gke"
os.environ["BARE_WORKLOADS"] = {pairs!r}
from pathlib import Path
from keyless.preview.engine import run_program
run = run_program({{}}, program=Path({root!r}) / "benchmarks" / "bare_program.py")
print(len(run.registrations))
"""


def workloads(count: int) -> list[dict[str, object]]:
    """``count - 1`` workloads beside the dev stack's own one."""
    return [
        {
            "namespace": f"team-{index % 10}",
            "serviceAccount": f"app-{index}",
            "tokenType": "organization",
            "roleId": "4c2f9b7e-6a1d-4e8b-9f3a-2d5c7e1b0a96",
            "gcpRoles": ["roles/storage.objectViewer"],
        }
        for index in range(count - 1)
    ]


def run(code: str) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, env=ENV)
    return time.perf_counter() - start, int(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement (median reported)")
    parser.add_argument("--sizes", default="1,50,200", help="workload counts, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    for size in sizes:
        extra = workloads(size)
        pairs = json.dumps([[w["namespace"], w["serviceAccount"]] for w in extra])
        codes = (PROJECT.format(root=str(ROOT), extra=extra), BARE.format(root=str(ROOT), pairs=pairs))
        samples: list[list[float]] = [[], []]
        counts = [0, 0]
        for code in codes:  # warm: compile what each imports, fill the file cache
            run(code)
        for _ in range(args.runs):  # interleaved, so that drift in load hits both alike
            for index, code in enumerate(codes):
                seconds, counts[index] = run(code)
                samples[index].append(seconds)
        rows.append((size, statistics.median(samples[0]), statistics.median(samples[1]), counts[0], counts[1]))
    print(f"median of {args.runs} fresh processes, Python {sys.version.split()[0]}")
    print(f"{'workloads':>9} {'project':>9} {'bare':>9} {'ratio':>7} {'resources (project/bare)':>26}")
    for size, project, bare, count_project, count_bare in rows:
        print(f"{size:>9} {project:>8.3f}s {bare:>8.3f}s {project / bare:>6.2f}x {count_project:>12}/{count_bare}")
    (small, _, bare_small, _, n_small), (large, _, bare_large, _, n_large) = rows[0], rows[-1]
    if n_large > n_small:
        per = (bare_large - bare_small) / (n_large - n_small) * 1000
        print(f"the SDK's own cost per registered resource (bare, {small} → {large} workloads): {per:.1f} ms")
    print(f"ratio at {rows[-1][0]} workloads: {rows[-1][1] / rows[-1][2]:.2f}x (goal <= 1.15x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
