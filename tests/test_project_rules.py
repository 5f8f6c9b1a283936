"""Project rules that a linter alone would not guarantee."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posa_model.io_utils import atomic_savez, atomic_write

ROOT = Path(__file__).resolve().parent.parent
BLENDER_MODULES = {"bpy", "bmesh", "mathutils", "bpy_extras", "gpu", "bl_math"}


def test_posa_model_never_imports_blender():
    offenders = []
    for path in (ROOT / "posa_model").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in BLENDER_MODULES]
    assert not offenders, offenders


def test_importing_posa_model_pulls_in_no_blender_module():
    code = ("import sys, posa_model, posa_model.sample, posa_model.reference; "
            f"print(sorted(set(sys.modules) & set({sorted(BLENDER_MODULES)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_savez_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="object array"):
        atomic_savez(tmp_path / "x.npz", bad=np.array([{"a": 1}], dtype=object))
    path = atomic_savez(tmp_path / "x.npz", good=np.arange(3))
    with np.load(path, allow_pickle=False) as data:
        assert data["good"].tolist() == [0, 1, 2]


def test_importing_posa_model_is_light():
    code = "import sys, posa_model; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_atomic_write_gives_normal_permissions(tmp_path):
    path = atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    assert path.stat().st_mode & 0o044 == 0o044, "group/other cannot read the written file"
