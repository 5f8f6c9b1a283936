"""Import checkpoints of the reference POSA implementation.

A reference checkpoint is ``torch.save({'epoch', 'model_state_dict', 'optimizer_state_dict',
...})`` with the reference's parameter names; the spirals and down-sampling come from its
``mesh_ds`` folder (``mesh_{k}.obj``, ``D_{k}.npz``, ``U_{k}.npz``), the network running on
level 2 (655 vertices for SMPL-X). We rebuild our :class:`~posa_model.nn.cvae.POSA` with the
spirals computed in OpenMesh's circulator order (as the reference computed them) and map the
names one to one:

=====================================  ==============================================
ours                                   reference
=====================================  ==============================================
encoder.convs.{0,1,2,3}.conv.linear    encoder.en_spiral.{0,1,3,5}.conv.layer
encoder.convs.{i}.norm                 encoder.en_spiral.{0,1,3,5}.norm
encoder.fc / encoder.fc_norm           encoder.en_fc.0.lin / encoder.en_fc.0.norm
encoder.mu / encoder.logvar            encoder.en_mu / encoder.en_log_var
decoder.lin.{0,1}.linear / .norm       decoder.de_spiral.{0,1}.conv.layer / .norm
decoder.convs.{i}.conv.linear / .norm  decoder.de_spiral.{2+i}.conv.layer / .norm
decoder.out.linear                     decoder.de_spiral.{2+num_hidden}.layer
=====================================  ==============================================

To use reference weights in the product (``load_sampler``, ``--checkpoint`` of the sample and
place commands, the add-on's checkpoint preference), convert them once into one of our
checkpoints that carries its hierarchy and ``frame="reference"``:
``python -m posa_model.convert --reference last_model.pt --mesh-ds mesh_ds/ --body
SMPLX_NEUTRAL.npz --out posa_smplx.pt`` (:func:`posa_model.convert.convert_reference`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError
from .nn.checkpoint import check_state_dict, load_weights_only
from .nn.config import LIMITS, ModelConfig
from .nn.cvae import POSA

_ENCODER_SPIRAL_INDEX = (0, 1, 3, 5)  # the reference's Sequential skips its 2 down-samplers


def _name_map(num_hidden_layers: int) -> dict[str, str]:
    """ours -> reference, for every parameter of the model."""
    names: dict[str, str] = {}
    for ours, ref in enumerate(_ENCODER_SPIRAL_INDEX):
        names[f"encoder.convs.{ours}.conv.linear"] = f"encoder.en_spiral.{ref}.conv.layer"
        names[f"encoder.convs.{ours}.norm"] = f"encoder.en_spiral.{ref}.norm"
    names |= {
        "encoder.fc": "encoder.en_fc.0.lin",
        "encoder.fc_norm": "encoder.en_fc.0.norm",
        "encoder.mu": "encoder.en_mu",
        "encoder.logvar": "encoder.en_log_var",
    }
    for i in range(2):
        names[f"decoder.lin.{i}.linear"] = f"decoder.de_spiral.{i}.conv.layer"
        names[f"decoder.lin.{i}.norm"] = f"decoder.de_spiral.{i}.norm"
    for i in range(num_hidden_layers):
        names[f"decoder.convs.{i}.conv.linear"] = f"decoder.de_spiral.{2 + i}.conv.layer"
        names[f"decoder.convs.{i}.norm"] = f"decoder.de_spiral.{2 + i}.norm"
    names["decoder.out.linear"] = f"decoder.de_spiral.{2 + num_hidden_layers}.layer"
    return {f"{o}.{p}": f"{r}.{p}" for o, r in names.items() for p in ("weight", "bias")}


def to_reference_state_dict(model: POSA) -> dict[str, torch.Tensor]:
    """Our model's weights under the reference's parameter names (e.g. to export)."""
    mapping = _name_map(model.config.num_hidden_layers)
    return {mapping[k]: v for k, v in model.state_dict().items()}


def _matrix(state: dict[str, torch.Tensor], key: str, where: str) -> torch.Tensor:
    """The 2-d weight ``state[key]``, named in the error when missing or of another rank."""
    if key not in state:
        raise CheckpointError(f"{where}: model_state_dict lacks the reference parameter {key!r}")
    tensor = state[key]
    if tensor.ndim != 2:
        raise CheckpointError(f"{where}: model_state_dict[{key!r}] must be a 2-d weight matrix, "
                              f"found shape {tuple(tensor.shape)}")
    return tensor


def _infer_config(state: dict[str, torch.Tensor], where: str) -> ModelConfig:
    """Read the model configuration off the reference weights' shapes."""
    first = _matrix(state, "encoder.en_spiral.0.conv.layer.weight", where)
    mu = _matrix(state, "encoder.en_mu.weight", where)
    lin0 = _matrix(state, "decoder.de_spiral.0.conv.layer.weight", where)
    channels = _matrix(state, "encoder.en_spiral.1.conv.layer.weight", where).shape[0]
    decoder_ids = {
        int(m.group(1)) for k in state
        if (m := re.match(r"decoder\.de_spiral\.(\d{1,6})\.", k))
    }
    num_hidden = max(decoder_ids) - 2
    if not LIMITS["num_hidden_layers"][0] <= num_hidden <= LIMITS["num_hidden_layers"][1]:
        raise CheckpointError(f"{where}: model_state_dict has decoder.de_spiral.{max(decoder_ids)}"
                              f"; {num_hidden} hidden layers is outside "
                              f"{LIMITS['num_hidden_layers']}")
    out_key = f"decoder.de_spiral.{num_hidden + 2}.layer.weight"
    if out_key not in state:
        raise CheckpointError(f"{where}: model_state_dict lacks the output layer {out_key!r}")
    out_channels = _matrix(state, out_key, where).shape[0]
    z_dim, h_dim = mu.shape
    if lin0.shape[1] != 3 + z_dim:
        raise CheckpointError(
            f"{where}: decoder.de_spiral.0 has shape {tuple(lin0.shape)}; expected 3 + z_dim "
            f"= {3 + z_dim} inputs"
        )
    if first.shape[1] % (3 + out_channels):
        raise CheckpointError(
            f"{where}: encoder.en_spiral.0.conv.layer.weight has {first.shape[1]} inputs, not a "
            f"multiple of 3 + {out_channels} output channels (seq_length * (3 + F))"
        )
    if channels % 8:
        raise CheckpointError(
            f"{where}: {channels} spiral channels; the reference's GroupNorm uses 8 groups, "
            "so reference weights must have a multiple of 8 channels"
        )
    use_semantics = out_channels > 1
    return ModelConfig.from_dict(dict(
        use_semantics=use_semantics,
        num_classes=out_channels - 1 if use_semantics else 42,
        z_dim=int(z_dim),
        h_dim=int(h_dim),
        channels=int(channels),
        num_groups=8,  # the reference default; GroupNorm groups are not visible in the weights
        seq_length=int(first.shape[1]) // (3 + out_channels),
        num_hidden_layers=num_hidden,
        network_level=2,
    ), source=f"{where} (model configuration read off the weights' shapes)")


@dataclass
class ReferenceWeights:
    """Reference weights read with their ``mesh_ds`` folder.

    model: our POSA module with the reference weights (fp32, eval mode, on CPU).
    hierarchy: the MeshHierarchy of the mesh_ds folder (spirals in OpenMesh order).
    epoch: the checkpoint's ``epoch`` field when it is an int, else None.
    """

    model: POSA
    hierarchy: Any
    epoch: int | None = None


def read_reference(checkpoint_path: str | os.PathLike,
                   mesh_ds_dir: str | os.PathLike) -> ReferenceWeights:
    """Read a reference POSA checkpoint with its ``mesh_ds`` folder (see :func:`load_reference`
    for the checks); returns the model and the hierarchy it runs on."""
    from .mesh.mesh_ds import read_mesh_ds

    path = Path(checkpoint_path)
    payload = load_weights_only(path, "reference checkpoint")
    state = payload.get("model_state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict with a 'model_state_dict' field")
    check_state_dict(state, str(path), "model_state_dict")
    config = _infer_config(state, str(path))
    hierarchy = read_mesh_ds(mesh_ds_dir, seq_length=config.seq_length)
    model = POSA.from_hierarchy(config, hierarchy)
    mapping = _name_map(config.num_hidden_layers)
    expected = set(mapping.values())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: model_state_dict does not match the reference layout: missing "
            f"{missing[:5]}, unexpected {unexpected[:5]}"
        )
    ours = {}
    for name, tensor in model.state_dict().items():
        ref = state[mapping[name]]
        if ref.shape != tensor.shape:
            raise CheckpointError(
                f"{path}: {mapping[name]} has shape {tuple(ref.shape)}, but with the mesh_ds "
                f"folder {mesh_ds_dir} the model expects {tuple(tensor.shape)} (weights trained "
                "for another mesh hierarchy?)"
            )
        ours[name] = ref.float()
    model.load_state_dict(ours)
    epoch = payload.get("epoch")
    return ReferenceWeights(model.eval(), hierarchy,
                            epoch if type(epoch) is int else None)


def load_reference(checkpoint_path: str | os.PathLike, mesh_ds_dir: str | os.PathLike,
                   device: str | torch.device = "cpu") -> POSA:
    """Load a reference POSA checkpoint with its ``mesh_ds`` folder as our model (eval mode).

    The returned model's ``decode(z (B, 256), vertices (B, 655, 3))`` gives the reference
    decoder's (B, 655, 43) output (channel 0 contact probability, 1..42 class logits) and
    ``encode(f (B, 655, 43), vertices)`` the reference encoder's (mu, logvar). Vertices are in
    the frame the reference was trained in (see ``posa_model.frames`` / the sampler's
    ``frame="reference"``). The file is read with ``weights_only=True``.

    Raises:
        CheckpointError: unreadable file (or not a regular file), non-tensor or non-finite
            weights (named), missing/extra parameters, weights of the wrong rank, shapes that
            disagree with the mesh_ds folder (e.g. weights for another mesh).
        HierarchyError: a malformed mesh_ds folder (naming the file).
    """
    return read_reference(checkpoint_path, mesh_ds_dir).model.to(device).eval()
