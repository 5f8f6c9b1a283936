"""Importing a reference POSA checkpoint + mesh_ds folder reproduces the reference network.

The checkpoint is built here with the reference's parameter names and shapes (random values);
the expected outputs come from a functional re-statement of the reference architecture that
reads the reference-named tensors and the dense D matrices from the mesh_ds files directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import torch
import torch.nn.functional as F
import trimesh

from posa_model.errors import CheckpointError
from posa_model.mesh.build import build_hierarchy
from posa_model.mesh.mesh_ds import write_mesh_ds
from posa_model.mesh.spirals import extract_spirals
from posa_model.reference import load_reference, to_reference_state_dict

Z, H, C, S = 256, 512, 64, 9


@pytest.fixture(scope="module")
def mesh_ds(tmp_path_factory):
    """A reference-format mesh_ds folder for an icosphere: 2562 -> 641 -> 161 -> 41 -> 11."""
    sphere = trimesh.creation.icosphere(subdivisions=4)
    rng = np.random.default_rng(0)
    vertices = sphere.vertices * (1 + 0.1 * rng.random((len(sphere.vertices), 1)))
    folder = tmp_path_factory.mktemp("mesh_ds")
    write_mesh_ds(build_hierarchy(vertices, sphere.faces), folder)
    return folder


def reference_state_dict(num_coarse: int, f_dim: int = 43, seed: int = 0) -> dict:
    """Random weights under the reference names/shapes (GroupNorm/LayerNorm affine too)."""
    g = torch.Generator().manual_seed(seed)

    def lin(name, fan_in, fan_out):
        return {f"{name}.weight": torch.randn(fan_out, fan_in, generator=g) / fan_in**0.5,
                f"{name}.bias": 0.1 * torch.randn(fan_out, generator=g)}

    def norm(name, n):
        return {f"{name}.weight": 1 + 0.1 * torch.randn(n, generator=g),
                f"{name}.bias": 0.1 * torch.randn(n, generator=g)}

    sd = {}
    for i, fan_in in zip((0, 1, 3, 5), (3 + f_dim, C, C, C), strict=True):
        sd |= lin(f"encoder.en_spiral.{i}.conv.layer", S * fan_in, C)
        sd |= norm(f"encoder.en_spiral.{i}.norm", C)
    sd |= lin("encoder.en_fc.0.lin", num_coarse * C, H) | norm("encoder.en_fc.0.norm", H)
    sd |= lin("encoder.en_mu", H, Z) | lin("encoder.en_log_var", H, Z)
    sd |= lin("decoder.de_spiral.0.conv.layer", 3 + Z, Z // 2)
    sd |= norm("decoder.de_spiral.0.norm", Z // 2)
    sd |= lin("decoder.de_spiral.1.conv.layer", Z // 2, C) | norm("decoder.de_spiral.1.norm", C)
    for i in (2, 3, 4):
        sd |= lin(f"decoder.de_spiral.{i}.conv.layer", S * C, C)
        sd |= norm(f"decoder.de_spiral.{i}.norm", C)
    sd |= lin("decoder.de_spiral.5.layer", S * C, f_dim)
    return sd


def _spirals(folder, level):
    mesh = trimesh.load(folder / f"mesh_{level}.obj", process=False)
    return torch.as_tensor(extract_spirals(mesh.vertices, mesh.faces, S), dtype=torch.long)


def _spiral(x, spirals, sd, name):
    gathered = x[:, spirals.reshape(-1)].reshape(x.shape[0], spirals.shape[0], -1)
    return F.linear(gathered, sd[f"{name}.weight"], sd[f"{name}.bias"])


def _gn_relu(x, sd, name):
    y = F.group_norm(x.transpose(1, 2), 8, sd[f"{name}.weight"], sd[f"{name}.bias"])
    return torch.relu(y.transpose(1, 2))


def reference_decode(sd, folder, z, vertices):
    sp = _spirals(folder, 2)
    x = torch.cat((vertices, z.unsqueeze(1).expand(-1, vertices.shape[1], -1)), dim=-1)
    for i in (0, 1):
        x = F.linear(x, sd[f"decoder.de_spiral.{i}.conv.layer.weight"],
                     sd[f"decoder.de_spiral.{i}.conv.layer.bias"])
        x = _gn_relu(x, sd, f"decoder.de_spiral.{i}.norm")
    for i in (2, 3, 4):
        x = _spiral(x, sp, sd, f"decoder.de_spiral.{i}.conv.layer")
        x = _gn_relu(x, sd, f"decoder.de_spiral.{i}.norm")
    x = _spiral(x, sp, sd, "decoder.de_spiral.5.layer")
    return torch.cat((torch.sigmoid(x[..., :1]), x[..., 1:]), dim=-1)


def reference_encode(sd, folder, f, vertices):
    sp = [_spirals(folder, k) for k in (2, 3, 4)]
    dense_d = [torch.as_tensor(scipy.sparse.load_npz(folder / f"D_{k}.npz").toarray(),
                               dtype=torch.float32) for k in (3, 4)]
    x = torch.cat((vertices, f), dim=-1)
    steps = [(0, sp[0]), (1, sp[0]), ("D", dense_d[0]), (3, sp[1]), ("D", dense_d[1]),
             (5, sp[2])]
    for i, arg in steps:
        if i == "D":
            x = torch.matmul(arg, x)
            continue
        x = _spiral(x, arg, sd, f"encoder.en_spiral.{i}.conv.layer")
        x = _gn_relu(x, sd, f"encoder.en_spiral.{i}.norm")
    x = F.linear(x.reshape(x.shape[0], -1), sd["encoder.en_fc.0.lin.weight"],
                 sd["encoder.en_fc.0.lin.bias"])
    x = torch.relu(F.layer_norm(x, (H,), sd["encoder.en_fc.0.norm.weight"],
                                sd["encoder.en_fc.0.norm.bias"]))
    return (F.linear(x, sd["encoder.en_mu.weight"], sd["encoder.en_mu.bias"]),
            F.linear(x, sd["encoder.en_log_var.weight"], sd["encoder.en_log_var.bias"]))


def _save_reference(tmp_path, sd):
    path = tmp_path / "POSA_contact_semantics.pt"
    torch.save({"epoch": 15, "model_state_dict": sd, "optimizer_state_dict": {"state": {}}}, path)
    return path


def test_reference_checkpoint_decode_and_encode_match(tmp_path, mesh_ds):
    n2 = len(trimesh.load(mesh_ds / "mesh_2.obj", process=False).vertices)
    n4 = len(trimesh.load(mesh_ds / "mesh_4.obj", process=False).vertices)
    sd = reference_state_dict(n4)
    model = load_reference(_save_reference(tmp_path, sd), mesh_ds)
    g = torch.Generator().manual_seed(3)
    z, vertices = torch.randn(4, Z, generator=g), torch.randn(4, n2, 3, generator=g)
    f = torch.cat((torch.rand(4, n2, 1, generator=g),
                   F.one_hot(torch.randint(0, 42, (4, n2), generator=g), 42).float()), dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(model.decode(z, vertices),
                                   reference_decode(sd, mesh_ds, z, vertices))
        mu, logvar = model.encode(f, vertices)
        ref_mu, ref_logvar = reference_encode(sd, mesh_ds, f, vertices)
    torch.testing.assert_close(mu, ref_mu)
    torch.testing.assert_close(logvar, ref_logvar)
    assert model.decode(z, vertices).shape == (4, n2, 43)
    exported = to_reference_state_dict(model)
    assert exported.keys() == sd.keys()


def test_reference_checkpoint_for_another_mesh_is_refused(tmp_path, mesh_ds):
    sd = reference_state_dict(num_coarse=41)  # SMPL-X's 41 coarse vertices; this mesh has 11
    with pytest.raises(CheckpointError, match="encoder.en_fc.0.lin.weight"):
        load_reference(_save_reference(tmp_path, sd), mesh_ds)


@pytest.mark.slow
def test_reference_checkpoint_missing_parameter_is_named(tmp_path, mesh_ds):
    n4 = len(trimesh.load(mesh_ds / "mesh_4.obj", process=False).vertices)
    sd = reference_state_dict(n4)
    del sd["decoder.de_spiral.3.norm.bias"]
    with pytest.raises(CheckpointError, match="decoder.de_spiral.3.norm.bias"):
        load_reference(_save_reference(tmp_path, sd), mesh_ds)


def test_not_a_reference_checkpoint(tmp_path, mesh_ds):
    path = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="model_state_dict"):
        load_reference(path, mesh_ds)
