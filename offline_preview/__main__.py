"""``python -m offline_preview preview STACK…``: preview stacks offline and write their artifacts."""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from components._common import InvalidArgumentError
    from offline_preview.preview import preview_stack
    from offline_preview.stacks import stack_names

    parser = argparse.ArgumentParser(prog="python -m offline_preview", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="show what a stack would create and write its artifacts")
    preview.add_argument("stacks", nargs="*", help=f"stack names (default: all committed: {', '.join(stack_names())})")
    preview.add_argument(
        "--out", type=Path, default=ROOT / "preview-out", help="artifact folder (default: preview-out/)"
    )
    preview.add_argument(
        "--root", type=Path, default=ROOT, help="project folder holding Pulumi.yaml and the stack files"
    )
    preview.add_argument("--quiet", action="store_true", help="write the artifacts without printing the tree")
    args = parser.parse_args(argv)

    stacks = args.stacks or stack_names(args.root)
    for stack in stacks:
        try:
            result = preview_stack(stack, args.root)
        except (InvalidArgumentError, FileNotFoundError) as error:
            print(f"error: stack {stack!r}: {error}", file=sys.stderr)
            return 2
        written = result.write(args.out / stack)
        if not args.quiet:
            print(result.tree())
        print(f"Wrote {len(written)} artifacts to {args.out / stack}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
