"""Regenerate the shipped stand-in body and its mesh hierarchy (build time; not part of the
package or the add-on; needs the ``dev`` extra for scikit-image).

    python tools/make_standin.py body        # posa_model/assets/standin/smplx/SMPLX_NEUTRAL.npz
    python tools/make_standin.py hierarchy   # posa_model/assets/standin_hierarchy.npz
    python tools/make_standin.py body --out /tmp/SMPLX_NEUTRAL.npz
    python tools/make_standin.py hierarchy --body /tmp/SMPLX_NEUTRAL.npz --out /tmp/h.npz

Both are deterministic: the same bytes on every run. Rebuild the hierarchy after the body:
``tests/test_hierarchy.py`` fails while the shipped hierarchy records another body. The
generator is :mod:`tools.standin` (see its docstring for the construction).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tools` as a package

from posa_model.assets import STANDIN_BODY_PATH, STANDIN_HIERARCHY_PATH  # noqa: E402

PROG = "python tools/make_standin.py"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    body = sub.add_parser("body", help="regenerate the procedural stand-in body (SMPL-X .npz)")
    body.add_argument("--out", default=str(STANDIN_BODY_PATH),
                      help=f"output file (default {STANDIN_BODY_PATH})")
    hier = sub.add_parser("hierarchy", help="rebuild the stand-in body's mesh hierarchy")
    hier.add_argument("--body", default=str(STANDIN_BODY_PATH),
                      help="body .npz (v_template, f)")
    hier.add_argument("--out", default=str(STANDIN_HIERARCHY_PATH),
                      help=f"output .npz (default {STANDIN_HIERARCHY_PATH})")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.what == "body":
        from tools.standin.body import write_standin_body

        path = write_standin_body(args.out)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in "
              f"{time.perf_counter() - start:.1f} s")
    else:
        from tools.standin.hierarchy import build_standin_hierarchy

        h = build_standin_hierarchy(args.body, args.out)
        size = Path(args.out).stat().st_size
        print(f"wrote {args.out}: vertices {h.num_vertices}, fingerprint {h.fingerprint[:16]}, "
              f"{size / 1e6:.2f} MB, built in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
