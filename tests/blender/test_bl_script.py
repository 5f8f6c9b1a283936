"""scripts/sample_contacts.py end to end with the bpy module: .blend, attributes, a small render."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from bl_helpers import ROOT, bpy, child_env

from posa_blender import arrays, contacts

SCRIPT = ROOT / "scripts" / "sample_contacts.py"


def run_script(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--", *args], capture_output=True,
                          text=True, timeout=600, env=child_env(), cwd=cwd or ROOT)


@pytest.mark.slow
def test_the_script_saves_a_blend_with_the_samples_and_renders_a_picture(tmp_path):
    pytest.importorskip("torch")
    out, picture = tmp_path / "out.blend", tmp_path / "out.png"
    result = run_script("--pose", "sit", "--n", "2", "--seed", "0", "--out", str(out),
                        "--render", str(picture), "--resolution", "160x100",
                        "--render-samples", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"saved {out}" in result.stdout and f"rendered {picture}" in result.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bpy.ops.wm.open_mainfile(filepath=str(out))
    body = next(o for o in bpy.data.objects if o.type == "MESH" and o.posa.role == "BODY")
    assert contacts.stored_samples(body.data) == 2
    assert {"posa_contact", "posa_semantics"} <= set(arrays.attribute_names(body.data))
    assert body.posa.seed == 0
    contact = arrays.point_attribute(body.data, "posa_contact_0")
    assert contact.shape == (10475,) and np.all((contact >= 0) & (contact <= 1))
    screen = bpy.context.window_manager.windows[0].screen
    view = next(a for a in screen.areas if a.type == "VIEW_3D")
    assert view.spaces.active.shading.type == "SOLID"
    assert view.spaces.active.shading.color_type == "VERTEX"


def test_help_lists_the_arguments():
    result = run_script("--help")
    assert result.returncode == 0
    for option in ("--pose", "--n", "--seed", "--out", "--render", "--device"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pose", "dance", "--out", "x.blend"], "enum \"dance\" not found"),
        (["--pose", "missing.npz", "--out", "x.blend"], "pose file not found"),
        (["--body", "/no/such/smplx", "--out", "x.blend"], "file not found"),
    ],
)
def test_failures_exit_non_zero_with_a_message(tmp_path, args, message):
    pytest.importorskip("torch")
    result = run_script(*args, cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "error:" in result.stderr and message in result.stderr
    assert not (tmp_path / "x.blend").exists()


@pytest.mark.parametrize("args", [["--out", "x.txt"], ["--n", "0", "--out", "x.blend"], []])
def test_bad_arguments_exit_with_usage(args):
    result = run_script(*args)
    assert result.returncode == 2 and "usage:" in result.stderr
