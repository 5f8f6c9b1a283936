"""The cVAE: reference parameter count, shapes, determinism, checkpoint round trip/refusal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posa_model.errors import CheckpointError, HierarchyError
from posa_model.nn.checkpoint import build_model, read_checkpoint, save_checkpoint
from posa_model.nn.config import ModelConfig
from posa_model.nn.cvae import POSA, count_parameters
from tests.conftest import fake_hierarchy


def reference_sized_model(config: ModelConfig) -> POSA:
    rng = np.random.default_rng(0)
    spirals = [rng.integers(0, n, size=(n, 9)) for n in (655, 164, 41)]
    down = [rng.choice(655, 164, replace=False), rng.choice(164, 41, replace=False)]
    return POSA(config, spirals, down)


def test_parameter_count_matches_reference_contact_semantics():
    assert count_parameters(reference_sized_model(ModelConfig())) == 1_923_435


def test_contact_only_configuration():
    model = reference_sized_model(ModelConfig.contact_only())
    assert model.config.feature_dim == 1
    # Only the first encoder conv (4 instead of 46 input channels) and the output conv change.
    assert count_parameters(model) == 1_923_435 - 9 * 42 * 64 - (9 * 64 + 1) * 42


def test_forward_shapes_and_reference_decode_output(small_hierarchy):
    torch.manual_seed(0)
    model = POSA.from_hierarchy(ModelConfig(), small_hierarchy)
    n = small_hierarchy.vertices[2].shape[0]
    f, v = torch.rand(3, n, 43), torch.rand(3, n, 3)
    out = model(f, v, generator=torch.Generator().manual_seed(1))
    assert out.logits.shape == (3, n, 43) and out.mu.shape == (3, 256) == out.logvar.shape
    decoded = model.decode(out.z, v)
    torch.testing.assert_close(decoded[..., 0], torch.sigmoid(out.logits[..., 0]))
    torch.testing.assert_close(decoded[..., 1:], out.logits[..., 1:])
    again = model(f, v, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(again.logits, out.logits)


def test_hierarchy_with_other_spiral_length_is_refused(small_hierarchy):
    with pytest.raises(HierarchyError, match="seq_length"):
        POSA.from_hierarchy(ModelConfig(seq_length=7), small_hierarchy)


def test_spirals_are_not_in_the_state_dict(small_hierarchy):
    model = POSA.from_hierarchy(ModelConfig(), small_hierarchy)
    assert not any("spiral" in k or "down" in k for k in model.state_dict())


def _save(tmp_path, hierarchy, **kwargs):
    torch.manual_seed(0)
    model = POSA.from_hierarchy(ModelConfig(), hierarchy)
    regressor = torch.full((4, hierarchy.vertices[0].shape[0]), 1 / 40)
    path = save_checkpoint(tmp_path / "c.pt", model, hierarchy.fingerprint, regressor,
                           meta={"trained": False}, **kwargs)
    return model, path


def test_checkpoint_round_trip(tmp_path, small_hierarchy):
    model, path = _save(tmp_path, small_hierarchy)
    ckpt = read_checkpoint(path)
    assert ckpt.config == ModelConfig() and not ckpt.trained
    loaded = build_model(ckpt, small_hierarchy)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    assert not list(tmp_path.glob("*.tmp")), "atomic write left a temp file"


def test_fp16_checkpoint_loads_as_fp32(tmp_path, small_hierarchy):
    model, path = _save(tmp_path, small_hierarchy, weights_dtype=torch.float16)
    loaded = build_model(read_checkpoint(path), small_hierarchy)
    weight = loaded.encoder.fc.weight
    assert weight.dtype == torch.float32
    torch.testing.assert_close(weight, model.encoder.fc.weight, atol=1e-3, rtol=1e-3)


def test_checkpoint_for_another_hierarchy_is_refused(tmp_path, small_hierarchy):
    _, path = _save(tmp_path, small_hierarchy)
    other = fake_hierarchy(seed=0, tag="other spiral order")
    with pytest.raises(CheckpointError, match="trained on mesh hierarchy"):
        build_model(read_checkpoint(path), other)


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"model_state_dict": {}}, "reference POSA checkpoint"),
        ({"format": "posa_model.checkpoint", "format_version": 99}, "format_version 99"),
        ([1, 2, 3], "expected a dict"),
    ],
)
def test_malformed_checkpoints_name_the_problem(tmp_path, payload, message):
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_missing_and_corrupt_checkpoint_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="junk.pt"):
        read_checkpoint(tmp_path / "junk.pt")


def test_pickled_code_in_checkpoint_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "posa_model.checkpoint", "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        read_checkpoint(path)


def test_mismatched_state_dict_shape_is_refused(tmp_path, small_hierarchy):
    _, path = _save(tmp_path, small_hierarchy)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["encoder.fc.weight"] = torch.zeros(3, 3)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="encoder.fc.weight"):
        build_model(read_checkpoint(path), small_hierarchy)


def test_an_embedded_hierarchy_round_trips_and_is_validated(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    from posa_model.mesh.build import build_hierarchy

    sphere = trimesh.creation.icosphere(subdivisions=3)  # 642 -> 161 -> 41 -> 11
    hier = build_hierarchy(sphere.vertices, sphere.faces, levels=3)
    config = ModelConfig(z_dim=8, h_dim=8, channels=8, num_groups=4, network_level=1)
    model = POSA.from_hierarchy(config, hier)
    regressor = torch.full((4, 642), 1 / 642)
    path = save_checkpoint(tmp_path / "c.pt", model, hier.fingerprint, regressor, hierarchy=hier)
    ckpt = read_checkpoint(path)
    assert ckpt.hierarchy.fingerprint == hier.fingerprint == ckpt.hierarchy_fingerprint
    for k in range(4):
        np.testing.assert_array_equal(ckpt.hierarchy.faces[k], hier.faces[k])
        np.testing.assert_array_equal(ckpt.hierarchy.spirals[k], hier.spirals[k])
    build_model(ckpt, ckpt.hierarchy)
    with pytest.raises(CheckpointError, match="trained on"):  # weights of another hierarchy
        save_checkpoint(tmp_path / "x.pt", model, "0" * 64, regressor, hierarchy=hier)
    payload = torch.load(path, weights_only=True)
    for field, value, message in (
            ("up_weight", [torch.zeros(642, 3)] * 3, "rows must sum to 1"),
            ("down", [torch.zeros(161, dtype=torch.bool)] * 3, "must hold integers"),
            ("vertices", [torch.zeros(2, 3)] * 40, "list of 1..16"),
            ("format_version", 7, "format_version")):
        bad = {**payload, "hierarchy": {**payload["hierarchy"], field: value}}
        torch.save(bad, tmp_path / "bad.pt")
        with pytest.raises(CheckpointError, match=message):
            read_checkpoint(tmp_path / "bad.pt")
