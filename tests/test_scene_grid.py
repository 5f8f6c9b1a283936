"""SceneGrid / TorchSceneGrid (posa_model.scene.grid): lookup, gradients, files, z-up frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from posa_model.errors import PosaError
from posa_model.frames import blender_to_smplx
from posa_model.scene import SceneGrid, load_scene_grid, save_scene_grid


def _grid(shape=(7, 5, 6), lo=(-1.0, 0.0, -0.5), hi=(1.0, 1.2, 0.75), field=None, seed=0):
    """A grid whose node values are ``field(points)`` (default: random) with random labels."""
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(lo), np.asarray(hi)
    axes = [np.linspace(lo[a], hi[a], shape[a]) for a in range(3)]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    sdf = field(nodes) if field is not None else rng.normal(size=shape)
    semantics = rng.integers(0, 42, size=shape)
    return SceneGrid(sdf, semantics, lo, hi, np.stack([lo + 0.1, hi - 0.1]))


def _inside_points(grid: SceneGrid, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return grid.grid_min + rng.uniform(0, 1, size=(n, 3)) * (grid.grid_max - grid.grid_min)


def test_trilinear_lookup_is_exact_on_a_linear_field():
    a, b = np.array([0.3, -1.2, 0.7]), 0.25
    grid = _grid(field=lambda p: p @ a + b)
    points = _inside_points(grid, 500)
    np.testing.assert_allclose(grid.lookup(points), points @ a + b, atol=2e-6)
    # float32 grid values limit the precision, not the interpolation: the nodes come back too.
    nodes = np.stack(np.meshgrid(*grid.node_coords(), indexing="ij"), axis=-1).reshape(-1, 3)
    np.testing.assert_allclose(grid.lookup(nodes), grid.sdf.reshape(-1), atol=1e-6)


def test_gradient_matches_finite_differences():
    grid = _grid(shape=(9, 8, 7), field=lambda p: np.sin(3 * p[..., 0]) * np.cos(2 * p[..., 1])
                 + p[..., 2] ** 2)
    torch_grid = grid.to_torch(dtype=torch.float64)
    # points well inside cells, so a finite-difference step never crosses a cell face
    u = np.random.default_rng(3).uniform(0.2, 0.8, size=(50, 3))
    cell = np.random.default_rng(4).integers(0, np.asarray(grid.shape) - 1, size=(50, 3))
    points = grid.grid_min + (cell + u) * grid.spacing
    p = torch.tensor(points, requires_grad=True)
    torch_grid.sdf(p).sum().backward()
    eps = 1e-6
    fd = np.stack([(grid.lookup(points + eps * e) - grid.lookup(points - eps * e)) / (2 * eps)
                   for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(p.grad.numpy(), fd, atol=1e-5)
    assert np.abs(fd).max() > 0.1  # a real gradient, not zeros


def test_outside_the_grid_reads_the_border_plus_the_distance_to_the_box():
    grid = _grid()
    border = np.array([[grid.grid_max[0], 0.6, 0.1], [-1.0, grid.grid_min[1], 0.5]])
    out = border + np.array([[0.3, 0.0, 0.0], [0.0, -0.4, 0.0]])
    np.testing.assert_allclose(grid.lookup(out), grid.lookup(border) + [0.3, 0.4], atol=1e-6)
    p = torch.tensor(out, requires_grad=True)
    grid.to_torch(dtype=torch.float64).sdf(p).sum().backward()
    # outside, the distance grows away from the grid: the gradient points out along the normal
    assert p.grad[0, 0] == pytest.approx(1.0) and p.grad[1, 1] == pytest.approx(-1.0)


def _grid_sample_sdf(grid: SceneGrid, points: torch.Tensor) -> torch.Tensor:
    """The plain reference of :meth:`TorchSceneGrid.sdf`: torch's ``grid_sample`` (trilinear,
    ``align_corners=True``: the outermost nodes at -1 and +1, border padding) on the same grid,
    plus the distance to the grid's box outside it. ``points`` (N, 3) -> (N,)."""
    volume = torch.tensor(grid.sdf, dtype=points.dtype)[None, None]  # (1, 1, nx, ny, nz)
    lo = torch.tensor(grid.grid_min, dtype=points.dtype)
    hi = torch.tensor(grid.grid_max, dtype=points.dtype)
    normalized = 2 * (points - lo) / (hi - lo) - 1
    # grid_sample's last coordinate indexes the first volume axis: (z, y, x) for [x, y, z]
    where = normalized.flip(-1).reshape(1, -1, 1, 1, 3)
    inside = torch.nn.functional.grid_sample(volume, where, mode="bilinear",
                                             padding_mode="border", align_corners=True)
    return inside.reshape(-1) + (points - torch.maximum(torch.minimum(points, hi), lo)).norm(
        dim=-1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_trilinear_lookup_equals_grid_sample_forward_and_backward(dtype):
    """The fast lookup (:meth:`TorchSceneGrid.sdf`, what placement reads the scene and the
    other bodies with) against ``torch.nn.functional.grid_sample`` on the same grid: values
    and gradients with respect to the points, inside, within a node spacing of the border on
    both sides, and further out."""
    grid = _grid(shape=(9, 6, 7), lo=(-1.3, -0.1, 0.4), hi=(0.9, 1.6, 1.3), seed=7)
    rng = np.random.default_rng(8)
    size = grid.grid_max - grid.grid_min
    inside = grid.grid_min + rng.uniform(0, 1, size=(400, 3)) * size
    near = grid.grid_min + rng.uniform(0, 1, size=(400, 3)) * size
    axis, side = rng.integers(0, 3, size=400), rng.integers(0, 2, size=400)
    offset = rng.uniform(-1, 1, size=400) * grid.spacing[axis]  # within a spacing, in or out
    near[np.arange(400), axis] = np.where(side, grid.grid_max[axis], grid.grid_min[axis]) + offset
    far = grid.grid_min - 0.5 + rng.uniform(0, 1, size=(200, 3)) * (size + 1.0)
    points = np.concatenate([inside, near, far])
    outside = ((points < grid.grid_min) | (points > grid.grid_max)).any(-1)
    assert 100 < outside.sum() < 500  # both kinds near the border and beyond

    def value_and_grad(lookup):
        p = torch.tensor(points, dtype=dtype, requires_grad=True)
        value = lookup(p)
        (value * weights).sum().backward()
        return value.detach().numpy(), p.grad.numpy()

    weights = torch.tensor(rng.normal(size=len(points)), dtype=dtype)
    fast, fast_grad = value_and_grad(grid.to_torch(dtype=dtype).sdf)
    plain, plain_grad = value_and_grad(lambda p: _grid_sample_sdf(grid, p))
    value_tol, grad_tol = (1e-12, 1e-11) if dtype == torch.float64 else (1e-5, 1e-4)
    np.testing.assert_allclose(fast, plain, rtol=0, atol=value_tol)
    np.testing.assert_allclose(fast_grad, plain_grad, rtol=0, atol=grad_tol)
    assert np.abs(fast_grad[~outside]).max() > 1  # a real gradient, not zeros


def test_semantics_take_the_nearest_node_and_clamp_outside():
    grid = _grid(shape=(6, 6, 6))
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 6, size=(100, 3))
    jitter = rng.uniform(-0.45, 0.45, size=(100, 3))
    points = grid.grid_min + (idx + jitter) * grid.spacing
    expected = grid.semantics[idx[:, 0], idx[:, 1], idx[:, 2]]
    np.testing.assert_array_equal(grid.lookup_semantics(points), expected)
    far = grid.grid_max + 5.0
    assert grid.lookup_semantics(far[None])[0] == grid.semantics[-1, -1, -1]


@pytest.mark.parametrize("shape", [(6, 6, 6), (7, 5, 6)])
def test_save_load_round_trip(tmp_path, shape):
    grid = _grid(shape=shape)
    save_scene_grid(tmp_path, "room", grid)
    header = json.loads((tmp_path / "room.json").read_text())
    assert header["dim"] == max(shape)
    assert ("shape" in header) == (len(set(shape)) > 1)  # cubes stay readable by the reference
    back = load_scene_grid(tmp_path, "room")
    np.testing.assert_array_equal(back.sdf, grid.sdf)
    np.testing.assert_array_equal(back.semantics, grid.semantics)
    np.testing.assert_allclose(back.grid_min, grid.grid_min)
    np.testing.assert_allclose(back.grid_max, grid.grid_max)
    np.testing.assert_allclose(back.bbox, grid.bbox)


def test_z_up_grid_matches_rotating_the_points(tmp_path):
    """A grid stored z-up and read with up="z" answers at p what the stored grid answers at
    the z-up coordinates of p (p = blender_to_smplx(q))."""
    stored = _grid(shape=(7, 5, 6), field=lambda p: p[..., 0] + 2 * p[..., 1] ** 2 - p[..., 2])
    save_scene_grid(tmp_path, "zup", stored)
    loaded = load_scene_grid(tmp_path, "zup", up="z")
    assert loaded.shape == (7, 6, 5)
    q = _inside_points(stored, 300, seed=7)  # z-up coordinates
    p = blender_to_smplx(q)
    np.testing.assert_allclose(loaded.lookup(p), stored.lookup(q), atol=1e-5)
    nodes = np.stack(np.meshgrid(*stored.node_coords(), indexing="ij"), axis=-1).reshape(-1, 3)
    np.testing.assert_array_equal(loaded.lookup_semantics(blender_to_smplx(nodes)),
                                  stored.lookup_semantics(nodes))
    np.testing.assert_allclose(np.sort(loaded.bbox, axis=0), loaded.bbox)  # min <= max


def _write_bad(tmp_path, header=None, sdf=None, semantics=None):
    grid = _grid(shape=(4, 4, 4))
    save_scene_grid(tmp_path, "bad", grid)
    if header is not None:
        (tmp_path / "bad.json").write_text(json.dumps(header))
    if sdf is not None:
        np.save(tmp_path / "bad_sdf.npy", sdf)
    if semantics is not None:
        np.save(tmp_path / "bad_semantics.npy", semantics)


def test_bad_files_name_the_file_and_the_field(tmp_path):
    with pytest.raises(PosaError, match=r"missing\.json.*not found"):
        load_scene_grid(tmp_path, "missing")
    _write_bad(tmp_path, header={"min": [0, 0, 0], "max": [1, 1, 1]})
    with pytest.raises(PosaError, match=r"bad\.json.*'dim'"):
        load_scene_grid(tmp_path, "bad")
    _write_bad(tmp_path, sdf=np.zeros((3, 3, 3), np.float32))
    with pytest.raises(PosaError, match=r"bad_sdf\.npy.*\(4, 4, 4\).*\(3, 3, 3\)"):
        load_scene_grid(tmp_path, "bad")
    _write_bad(tmp_path, sdf=np.zeros((4, 4, 4), np.int32))
    with pytest.raises(PosaError, match=r"bad_sdf\.npy.*floating"):
        load_scene_grid(tmp_path, "bad")
    _write_bad(tmp_path, semantics=np.full((4, 4, 4), 50, np.uint8))
    with pytest.raises(PosaError, match=r"bad_semantics\.npy.*0\.\.41"):
        load_scene_grid(tmp_path, "bad")
    _write_bad(tmp_path, header={"dim": 4, "min": [0, 0], "max": [1, 1, 1]})
    with pytest.raises(PosaError, match=r"bad\.json.*'min' and 'max'"):
        load_scene_grid(tmp_path, "bad")
    (tmp_path / "bad_sdf.npy").write_bytes(b"not numpy")
    with pytest.raises(PosaError, match=r"bad.*cannot read"):
        load_scene_grid(tmp_path, "bad")
