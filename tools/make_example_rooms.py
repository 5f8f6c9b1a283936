"""Write the example furniture and rooms in ``examples/`` (and, with bpy, their previews).

    python tools/make_example_rooms.py                   # examples/furniture/posa_*.glb, rooms
    python tools/make_example_rooms.py --out /tmp/ex     # the same into another folder
    .venv-blender/bin/python tools/make_example_rooms.py --previews   # also render previews
    python tools/make_example_rooms.py --copy-real-from /work/shared/real_furniture

What it writes (everything deterministic: the same bytes on every run):

* ``<out>/furniture/posa_*.glb``: the procedural furniture of
  :mod:`example_rooms.furniture` (CC0, made by this script);
* ``<out>/rooms/<room>.glb`` and ``<room>.json``: the rooms of :mod:`example_rooms.rooms` (the
  room files embed the furniture files, artist-made ones unchanged);
* ``<out>/rooms/previews/<room>.png`` with ``--previews`` (needs ``bpy``; Cycles on the CPU).

The artist-made furniture (CC0) is read from ``--real`` (default ``examples/furniture``, where
``--copy-real-from`` copies it once from a folder laid out as ``/work/shared/real_furniture``,
with its ``LICENSES/``). All files are glTF: +y up, metres.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from example_rooms.furniture import CATALOGUE, write_piece  # noqa: E402
from example_rooms.rooms import ROOMS, write_room  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def copy_real_furniture(source: Path, folder: Path) -> list[Path]:
    """Copy the artist-made pieces the catalogue uses and ``LICENSES/`` from ``source`` into
    ``folder`` (bytes unchanged); returns the copied paths."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for spec in CATALOGUE.values():
        if spec.builder is None:
            copied.append(Path(shutil.copyfile(source / spec.file, folder / spec.file)))
    licences = source / "LICENSES"
    if licences.is_dir():
        (folder / "LICENSES").mkdir(exist_ok=True)
        for path in sorted(licences.iterdir()):
            copied.append(Path(shutil.copyfile(path, folder / "LICENSES" / path.name)))
    return copied


def generate(out: Path, real: Path) -> list[Path]:
    """Write the procedural furniture into ``out/furniture`` and every room into
    ``out/rooms``; artist-made pieces are read from ``real``. Returns the written paths."""
    furniture_dir = out / "furniture"
    written = []
    paths: dict[str, Path] = {}
    for spec in CATALOGUE.values():
        if spec.builder is None:
            path = real / spec.file
            if not path.is_file():
                raise FileNotFoundError(f"{path}: artist-made piece missing (copy it with "
                                        f"--copy-real-from)")
        else:
            path = write_piece(spec, furniture_dir)
            written.append(path)
        paths[spec.file] = path
    for plan in ROOMS.values():
        written.extend(write_room(plan, paths, out / "rooms"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=EXAMPLES, help="output folder (examples/)")
    parser.add_argument("--real", type=Path, default=None,
                        help="folder with the artist-made pieces (default <out>/furniture, or "
                             "examples/furniture when that has none)")
    parser.add_argument("--copy-real-from", type=Path, default=None,
                        help="copy the artist-made pieces and LICENSES/ from here first")
    parser.add_argument("--previews", action="store_true",
                        help="render rooms/previews/<room>.png (needs bpy)")
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples for previews")
    args = parser.parse_args(argv)
    if args.copy_real_from is not None:
        for path in copy_real_furniture(args.copy_real_from, args.out / "furniture"):
            print(f"copied {path}")
    real = args.real
    if real is None:
        own = args.out / "furniture" / CATALOGUE["kenney_chair"].file
        real = own.parent if own.is_file() else EXAMPLES / "furniture"
    for path in generate(args.out, real):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    if args.previews:
        from example_rooms.previews import render_previews

        for path in render_previews(args.out / "rooms", samples=args.samples):
            print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
