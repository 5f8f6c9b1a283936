"""``python -m posa_model.sample``: coloured PLY/GLB/NPZ, deterministic, clear failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from posa_model.classes import contact_colors
from posa_model.export import attribute_names
from posa_model.sample import main


def _ply_arrays(path):
    mesh = trimesh.load(path, process=False)
    data = mesh.metadata["_ply_raw"]["vertex"]["data"]
    names = [n for n in data.dtype.names if n.startswith(("contact_", "semantics_"))]
    return mesh, {n: np.asarray(data[n]) for n in names}


@pytest.mark.slow
def test_ply_twice_gives_identical_arrays(tmp_path, capsys):
    args = ["--body", "standin", "--pose", "sit", "--n", "2", "--seed", "0", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "a.ply")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.ply")]) == 0
    printed = capsys.readouterr().out
    assert "sample 0:" in printed and "sample 1:" in printed
    mesh_a, a = _ply_arrays(tmp_path / "a.ply")
    _, b = _ply_arrays(tmp_path / "b.ply")
    assert sorted(a) == ["contact_0", "contact_1", "semantics_0", "semantics_1"]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert len(mesh_a.vertices) == 10475
    colors = np.asarray(mesh_a.visual.vertex_colors)[:, :3]
    np.testing.assert_array_equal(colors, contact_colors(a["contact_0"]))


@pytest.mark.slow
def test_npz_and_glb_outputs(tmp_path):
    assert main(["--pose", "lie_back", "--n", "3", "--device", "cpu", "--colour", "semantics",
                 "--out", str(tmp_path / "x.npz")]) == 0
    with np.load(tmp_path / "x.npz", allow_pickle=False) as data:
        assert data["contact"].shape == (3, 10475) and data["semantics"].shape == (3, 10475)
        assert data["faces"].shape[1] == 3
    assert main(["--pose", "stand", "--device", "cpu", "--out", str(tmp_path / "x.glb")]) == 0
    scene = trimesh.load(tmp_path / "x.glb", process=False)
    geometry = next(iter(scene.geometry.values()))
    assert sorted(geometry.vertex_attributes) == ["_contact_0", "_semantics_0"]
    assert attribute_names(".glb", 0) == ("_contact_0", "_semantics_0")
    assert attribute_names(".ply", 3) == ("contact_3", "semantics_3")


def test_readme_names_the_attributes_the_files_have():
    """The README's description of ``--out`` names what PLY and GLB files really hold."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`contact_k` / `semantics_k`" in readme
    assert "`_contact_k` / `_semantics_k`" in readme


def test_help_lists_the_presets_and_the_default_pose(capsys):
    from posa_model.body import preset_names

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "default: sit" in text
    assert all(name in text for name in preset_names())


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--pose", "cartwheel"], "cartwheel"),
        (["--pose", "missing.npz"], "not found"),
        (["--body", "/nonexistent/SMPLX_NEUTRAL.npz"], "SMPLX_NEUTRAL.npz"),
        (["--checkpoint", "/nonexistent.pt"], "not found"),
    ],
)
def test_failures_exit_non_zero_with_a_message(tmp_path, capsys, args, message):
    assert main([*args, "--device", "cpu", "--out", str(tmp_path / "x.ply")]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.ply").exists()


@pytest.mark.slow
def test_module_entry_point(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "posa_model.sample", "--pose", "sit", "--device", "cpu",
         "--out", str(tmp_path / "s.ply")], capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s.ply").stat().st_size > 100_000


@pytest.mark.slow
def test_pose_file_as_in_the_readme(tmp_path, capsys):
    """``--pose my_pose.npz`` (the README's example) samples the pose in the file: the same maps
    as the preset it was written from."""
    from posa_model.body import BodyPose

    path = BodyPose.from_preset("sit").to_file(tmp_path / "my_pose.npz")
    args = ["--n", "1", "--seed", "3", "--device", "cpu"]
    assert main([*args, "--pose", str(path), "--out", str(tmp_path / "file.ply")]) == 0
    assert main([*args, "--pose", "sit", "--out", str(tmp_path / "preset.ply")]) == 0
    _, from_file = _ply_arrays(tmp_path / "file.ply")
    _, from_preset = _ply_arrays(tmp_path / "preset.ply")
    np.testing.assert_array_equal(from_file["contact_0"], from_preset["contact_0"])
