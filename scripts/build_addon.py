"""Build the Blender extension: ``dist/posa_blender-<version>.zip``, validated by Blender's tool.

    python scripts/build_addon.py [--out-dir dist] [--blender-ext PATH/blender_ext.py]

Steps:
1. check that the versions agree (blender_manifest.toml, pyproject.toml, posa_model.__version__)
   and that posa_model's assets (stand-in body, its mesh hierarchy, default checkpoint) exist;
2. write ``posa_model-<version>-py3-none-any.whl`` (posa_model with its assets; nothing else:
   the build-time generators in ``tools/`` stay out);
3. stage posa_blender/ with the manifest and the wheels, then run Blender's extension tool
   (``blender_ext.py build`` and ``validate``; it ships in the bpy wheel and in Blender).

PyTorch, SciPy and smplx are not bundled (platform-specific, or not redistributable: smplx's
licence forbids it); the add-on's preferences install them on request.

The extension tool is found, in order: ``--blender-ext``; ``$BLENDER_EXT``; the ``bpy`` package
of this Python (``pip install bpy``); a ``blender`` executable on PATH (its
``--command extension``). Exit status 0 on success, 1 with a message otherwise.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "blender_manifest.toml"


def _shipped_files() -> tuple[str, ...]:
    """``posa_model.assets.SHIPPED_FILES`` of this checkout (read from its file, so the build
    needs no installed posa_model)."""
    spec = importlib.util.spec_from_file_location("_posa_model_assets",
                                                  ROOT / "posa_model" / "assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.SHIPPED_FILES)


#: Files the add-on cannot run without, relative to posa_model/ (posa_model/assets.py).
REQUIRED_ASSETS = _shipped_files()
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same wheel
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


class BuildError(Exception):
    """A problem the user must fix; the message says what and where."""


def versions() -> dict[str, str]:
    """The version strings the build must agree on."""
    manifest = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    init = (ROOT / "posa_model" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', init, re.MULTILINE)
    return {
        "blender_manifest.toml": str(manifest.get("version")),
        "pyproject.toml": str(project.get("project", {}).get("version")),
        "posa_model/__init__.py": match.group(1) if match else "(none)",
    }


def check_sources() -> tuple[str, dict]:
    """(version, manifest) after checking versions and assets; BuildError otherwise."""
    found = versions()
    if len(set(found.values())) != 1:
        listing = ", ".join(f"{k}: {v}" for k, v in found.items())
        raise BuildError(f"versions disagree ({listing}); make them equal")
    missing = [a for a in REQUIRED_ASSETS if not (ROOT / "posa_model" / a).is_file()]
    if missing:
        raise BuildError(
            "posa_model assets missing: " + ", ".join(f"posa_model/{m}" for m in missing)
            + " (see README.md, Development, for the commands that make them)"
        )
    manifest = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    return found["blender_manifest.toml"], manifest


def package_files(package: Path) -> list[Path]:
    """Files of a package to ship: sources and data, no caches or compiled files."""
    files = []
    for path in sorted(package.rglob("*")):
        if not path.is_file() or _SKIP_PARTS & set(path.relative_to(ROOT).parts):
            continue
        if path.suffix in (".pyc", ".pyo") or path.name.startswith("."):
            continue
        files.append(path)
    return files


def write_wheel(out_dir: Path, name: str, version: str, summary: str,
                requires: list[str]) -> Path:
    """A pure-Python wheel of the package ``ROOT/name`` (with its data files)."""
    dist_info = f"{name}-{version}.dist-info"
    wheel_path = out_dir / f"{name}-{version}-py3-none-any.whl"
    metadata = "\n".join(
        ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}",
         "License: GPL-3.0-or-later", "Requires-Python: >=3.11"]
        + [f"Requires-Dist: {r}" for r in requires]
    ) + "\n"
    wheel_meta = ("Wheel-Version: 1.0\nGenerator: posa scripts/build_addon.py\n"
                  "Root-Is-Purelib: true\nTag: py3-none-any\n")
    entries: list[tuple[str, bytes]] = [
        (path.relative_to(ROOT).as_posix(), path.read_bytes())
        for path in package_files(ROOT / name)
    ]
    entries += [(f"{dist_info}/METADATA", metadata.encode()),
                (f"{dist_info}/WHEEL", wheel_meta.encode()),
                (f"{dist_info}/top_level.txt", f"{name}\n".encode())]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([arcname, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries.append((f"{dist_info}/RECORD", record.getvalue().encode()))

    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return wheel_path


def stage(stage_dir: Path, manifest: dict, version: str) -> None:
    """posa_blender/ + the manifest + the wheels the manifest lists, in ``stage_dir``."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for path in package_files(ROOT / "posa_blender"):
        target = stage_dir / path.relative_to(ROOT / "posa_blender")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copy2(MANIFEST, stage_dir / "blender_manifest.toml")
    made = write_wheel(stage_dir / "wheels", "posa_model", version,
                       "POSA contact model, body models and sampler (bundled in posa_blender)",
                       ["torch>=2.1", "numpy>=1.24", "scipy>=1.10", "smplx>=0.1.28"])
    listed = {Path(w).name for w in manifest.get("wheels", [])}
    if listed != {made.name}:
        raise BuildError(f"blender_manifest.toml lists wheels {sorted(listed)}, the build makes "
                         f"{made.name}; update 'wheels' in the manifest")


def find_blender_ext(explicit: str | None) -> list[str]:
    """The command prefix that runs Blender's extension tool (see the module docstring)."""
    for candidate in (explicit, os.environ.get("BLENDER_EXT")):
        if candidate:
            if not Path(candidate).is_file():
                raise BuildError(f"{candidate}: blender_ext.py not found")
            return [sys.executable, candidate]
    spec = importlib.util.find_spec("bpy")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            found = sorted(Path(root).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
            if found:
                return [sys.executable, str(found[-1])]
    blender = shutil.which("blender")
    if blender:
        return [blender, "--background", "--factory-startup", "--command", "extension"]
    raise BuildError(
        "Blender's extension tool was not found: pass --blender-ext PATH (blender_ext.py, in "
        "the bpy wheel under bpy/<version>/scripts/addons_core/bl_pkg/cli/), set $BLENDER_EXT, "
        "install bpy in this Python (pip install bpy==4.5.4), or put blender on PATH"
    )


def run_tool(tool: list[str], *args: str) -> str:
    result = subprocess.run([*tool, *args], capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise BuildError(f"{' '.join([*tool, *args])} failed ({result.returncode}):\n{output}")
    return output


def build(out_dir: Path, blender_ext: str | None = None, stage_dir: Path | None = None) -> Path:
    """Build and validate the extension zip; returns its path."""
    version, manifest = check_sources()
    tool = find_blender_ext(blender_ext)
    stage_dir = stage_dir or ROOT / "build" / "addon"
    stage(stage_dir, manifest, version)
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_path = (out_dir / f"{manifest['id']}-{version}.zip").resolve()
    zip_path.unlink(missing_ok=True)
    run_tool(tool, "build", "--source-dir", str(stage_dir), "--output-filepath", str(zip_path))
    run_tool(tool, "validate", str(zip_path))
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist",
                        help="where the zip goes (default: dist/)")
    parser.add_argument("--blender-ext", default=None,
                        help="path of Blender's blender_ext.py (default: found automatically)")
    args = parser.parse_args(argv)
    try:
        zip_path = build(args.out_dir, args.blender_ext)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(zip_path) as archive:
        count = len(archive.namelist())
    print(f"built and validated {zip_path} ({zip_path.stat().st_size / 1e6:.1f} MB, "
          f"{count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
