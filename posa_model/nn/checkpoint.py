"""Our checkpoint format: one ``torch.save`` dict, loadable with ``weights_only=True``.

Keys:
    format ("posa_model.checkpoint"), format_version (int),
    model_config (dict of :class:`ModelConfig`), hierarchy_fingerprint (str),
    state_dict (the unwrapped model's parameters; spirals are not stored, the fingerprint is),
    frame_regressor ((4, V) float32: rows giving pelvis, left_hip, right_hip, spine3 from the
        full-resolution vertices; the canonical frame the model was trained in is part of it),
    meta (dict of str/int/float/bool: ``trained``, ``description``, ``frame`` ("canonical":
        posa_model.frames.canonicalize, the default; "reference": the reference code's
        pelvis-centred fixed rotation, for data made by it), training summary, ...),
    extra (dict; the trainer keeps optimiser / RNG / step state here for exact resume),
    hierarchy (optional dict: the mesh hierarchy itself, so the checkpoint is self-contained;
        written for every hierarchy other than the stand-in's, e.g. converted reference weights
        (``python -m posa_model.convert``) and runs trained with ``--hierarchy``. Fields
        ``format_version`` (int), ``seq_length``, ``dilation`` (int) and per level the lists
        ``vertices`` ((V_k, 3) float32), ``faces`` ((F_k, 3) int32), ``spirals``
        ((V_k, S) int32), per step ``down`` ((V_{k+1},) int32), ``up_index`` ((V_k, 3) int32),
        ``up_weight`` ((V_k, 3) float32); its fingerprint must equal ``hierarchy_fingerprint``).

:func:`read_checkpoint` refuses, with a :class:`CheckpointError` naming the file and the field:
a file that is not a regular file or is larger than :data:`MAX_CHECKPOINT_BYTES`, state-dict
values that are not floating-point tensors, hold NaN/Inf or magnitudes above
:data:`MAX_ABS_WEIGHT` (the name of the tensor is given),
more than :data:`MAX_PARAMETERS` weights, a model_config out of range, a meta that is not a
dict of str / int / float / bool / None, an extra whose known fields have the wrong types, an
embedded hierarchy that is malformed (the field is named) or whose fingerprint differs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, HierarchyError
from ..io_utils import atomic_torch_save, check_zip_sizes, open_regular_file
from .config import ModelConfig

FORMAT = "posa_model.checkpoint"
FORMAT_VERSION = 1
#: Version of the embedded ``hierarchy`` field.
HIERARCHY_FORMAT_VERSION = 1
#: Most levels, and most array elements in all, an embedded hierarchy may have (SMPL-X's five
#: levels hold about 0.4 M).
MAX_HIERARCHY_LEVELS = 16
MAX_HIERARCHY_ELEMENTS = 50_000_000
_HIERARCHY_LISTS = {"vertices": ("f", 0), "faces": ("iu", 0), "spirals": ("iu", 0),
                    "down": ("iu", 1), "up_index": ("iu", 1), "up_weight": ("f", 1)}
#: Largest checkpoint file read (the shipped one is 4 MB; a reference-sized fp32 one ~25 MB
#: with the optimiser state).
MAX_CHECKPOINT_BYTES = 2 << 30
#: Most weights a state dict may hold (the reference model has 1.9 M).
MAX_PARAMETERS = 200_000_000
#: Largest weight magnitude accepted. Trained weights stay far below (the shipped checkpoint's
#: largest is ~2); a flipped exponent bit gives ~1e38, finite but overflowing every decode.
MAX_ABS_WEIGHT = 1e6
#: Types ``extra``'s known fields must have when present.
_EXTRA_TYPES: dict[str, tuple[type, ...]] = {
    "train_config": (dict,), "optimizer": (dict,), "rng": (dict,), "history": (list,),
    "epoch": (int,), "step": (int,), "world_size": (int,),
    "best_score": (int, float, type(None)), "best_epoch": (int, type(None)),
}


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module inside DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


@dataclass
class Checkpoint:
    """A checkpoint in memory; see the module docstring for the fields."""

    config: ModelConfig
    hierarchy_fingerprint: str
    state_dict: dict[str, torch.Tensor]
    frame_regressor: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: the embedded MeshHierarchy, when the file carries one (else None: the caller supplies it)
    hierarchy: Any = None

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))

    @property
    def frame(self) -> str:
        """"canonical" (the default) or "reference" (``meta["frame"]``)."""
        return str(self.meta.get("frame", "canonical"))


def hierarchy_payload(hierarchy: Any) -> dict[str, Any]:
    """A MeshHierarchy as the checkpoint's ``hierarchy`` field (tensors; int fields int32)."""
    def ints(a) -> torch.Tensor:  # copies: hierarchy arrays are read-only
        return torch.tensor(np.asarray(a, dtype=np.int32))

    def floats(a) -> torch.Tensor:
        return torch.tensor(np.asarray(a, dtype=np.float32))

    return {
        "format_version": HIERARCHY_FORMAT_VERSION,
        "seq_length": int(hierarchy.seq_length),
        "dilation": int(hierarchy.dilation),
        "vertices": [floats(a) for a in hierarchy.vertices],
        "faces": [ints(a) for a in hierarchy.faces],
        "spirals": [ints(a) for a in hierarchy.spirals],
        "down": [ints(a) for a in hierarchy.down],
        "up_index": [ints(a) for a in hierarchy.up_index],
        "up_weight": [floats(a) for a in hierarchy.up_weight],
    }


def hierarchy_from_payload(data: Any, where: str, fingerprint: str | None = None) -> Any:
    """The MeshHierarchy of a checkpoint's ``hierarchy`` field, validated.

    Raises:
        CheckpointError: naming ``where`` and the sub-field: not a dict, a wrong version, lists
            of the wrong length or type, tensors of the wrong kind, too many elements, an
            inconsistent hierarchy, or a fingerprint other than ``fingerprint``.
    """
    from ..mesh.hierarchy import MAX_DILATION, MAX_SEQ_LENGTH, MeshHierarchy

    if not isinstance(data, dict):
        raise CheckpointError(f"{where}: field 'hierarchy' must be a dict, found "
                              f"{type(data).__name__}")
    version = data.get("format_version")
    if type(version) is not int or version != HIERARCHY_FORMAT_VERSION:
        raise CheckpointError(f"{where}: hierarchy.format_version must be "
                              f"{HIERARCHY_FORMAT_VERSION}, found {str(version)[:40]}")
    sizes = {}
    for key, (lo, hi) in (("seq_length", (1, MAX_SEQ_LENGTH)), ("dilation", (1, MAX_DILATION))):
        value = data.get(key)
        if type(value) is not int or not lo <= value <= hi:
            raise CheckpointError(f"{where}: hierarchy.{key} must be an int in {lo}..{hi}, "
                                  f"found {str(value)[:40]}")
        sizes[key] = value
    levels = data.get("vertices")
    if not isinstance(levels, list) or not 1 <= len(levels) <= MAX_HIERARCHY_LEVELS:
        raise CheckpointError(f"{where}: hierarchy.vertices must be a list of 1.."
                              f"{MAX_HIERARCHY_LEVELS} tensors")
    arrays: dict[str, tuple[np.ndarray, ...]] = {}
    total = 0
    for key, (kinds, fewer) in _HIERARCHY_LISTS.items():
        items = data.get(key)
        expected = len(levels) - fewer
        if not isinstance(items, list) or len(items) != expected:
            raise CheckpointError(f"{where}: hierarchy.{key} must be a list of {expected} "
                                  f"tensors, found {type(items).__name__}"
                                  f"{f' of {len(items)}' if isinstance(items, list) else ''}")
        out = []
        for k, tensor in enumerate(items):
            if not isinstance(tensor, torch.Tensor) or tensor.is_complex():
                raise CheckpointError(f"{where}: hierarchy.{key}[{k}] must be a tensor, found "
                                      f"{type(tensor).__name__}")
            kind = "f" if tensor.is_floating_point() else ("b" if tensor.dtype == torch.bool
                                                           else "i")
            if kind not in kinds:
                raise CheckpointError(f"{where}: hierarchy.{key}[{k}] must hold "
                                      f"{'numbers' if 'f' in kinds else 'integers'}, found "
                                      f"{tensor.dtype}")
            total += tensor.numel()
            if total > MAX_HIERARCHY_ELEMENTS:
                raise CheckpointError(f"{where}: the embedded hierarchy holds more than "
                                      f"{MAX_HIERARCHY_ELEMENTS} values")
            out.append(tensor.detach().cpu().numpy())
        arrays[key] = tuple(out)
    try:
        hierarchy = MeshHierarchy(**arrays, **sizes)
    except HierarchyError as exc:
        raise CheckpointError(f"{where}: field 'hierarchy': {exc}") from exc
    if fingerprint is not None and hierarchy.fingerprint != fingerprint:
        raise CheckpointError(f"{where}: the embedded hierarchy's fingerprint "
                              f"{hierarchy.fingerprint[:16]}... differs from "
                              f"hierarchy_fingerprint {fingerprint[:16]}... (a corrupt or "
                              "edited file)")
    return hierarchy


def save_checkpoint(path: str | os.PathLike, model: nn.Module, hierarchy_fingerprint: str,
                    frame_regressor: torch.Tensor, meta: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None,
                    weights_dtype: torch.dtype = torch.float32,
                    hierarchy: Any = None) -> Path:
    """Write ``model`` (unwrapped) atomically; weights stored as ``weights_dtype`` (fp32/fp16).

    ``hierarchy``: a MeshHierarchy to embed (its fingerprint must be
    ``hierarchy_fingerprint``), making the file self-contained; None embeds nothing.
    """
    plain = unwrap_model(model)
    config = getattr(plain, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("save_checkpoint needs a posa_model POSA model (with a .config)")
    state = {k: v.detach().to("cpu", weights_dtype).clone() for k, v in plain.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config.to_dict(),
        "hierarchy_fingerprint": str(hierarchy_fingerprint),
        "state_dict": state,
        "frame_regressor": frame_regressor.detach().to("cpu", torch.float32).clone(),
        "meta": dict(meta or {}),
        "extra": dict(extra or {}),
    }
    if hierarchy is not None:
        if hierarchy.fingerprint != str(hierarchy_fingerprint):
            raise CheckpointError(f"{path}: the hierarchy to embed has fingerprint "
                                  f"{hierarchy.fingerprint[:16]}..., the weights were trained "
                                  f"on {str(hierarchy_fingerprint)[:16]}...")
        payload["hierarchy"] = hierarchy_payload(hierarchy)
    return atomic_torch_save(path, payload)


def load_weights_only(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """``torch.load(weights_only=True)`` of a regular file of at most
    :data:`MAX_CHECKPOINT_BYTES`; every failure is a :class:`CheckpointError`."""
    path = Path(path)
    if not os.path.lexists(path):
        raise CheckpointError(f"{what} file not found: {path}")
    with open_regular_file(path, what, CheckpointError, MAX_CHECKPOINT_BYTES) as f:
        check_zip_sizes(f, f"{path}: {what}", 2 * MAX_CHECKPOINT_BYTES, error=CheckpointError)
        try:
            return torch.load(f, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for corrupt or unsafe files
            raise CheckpointError(
                f"{path}: cannot be read as a weights-only torch file "
                f"({type(exc).__name__}: {str(exc)[:300]})"
            ) from exc


def check_state_dict(state: Any, where: str, field_name: str = "state_dict") -> None:
    """Raise CheckpointError unless ``state`` maps str names to finite floating-point tensors
    with magnitudes <= :data:`MAX_ABS_WEIGHT`, at most :data:`MAX_PARAMETERS` values in all
    (the offending name is given)."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: field {field_name!r} must be a dict, found "
                              f"{type(state).__name__}")
    total = 0
    for key, value in state.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{where}: {field_name} key {str(key)[:60]!r} is not a string")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{where}: {field_name}[{key!r}] must be a tensor, found "
                                  f"{type(value).__name__}")
        if not value.is_floating_point() or value.is_complex():
            raise CheckpointError(f"{where}: {field_name}[{key!r}] must hold floating-point "
                                  f"weights, found {value.dtype}")
        total += value.numel()
        if total > MAX_PARAMETERS:
            raise CheckpointError(f"{where}: {field_name} holds more than {MAX_PARAMETERS} "
                                  "weights")
        if not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise CheckpointError(f"{where}: {field_name}[{key!r}] has {bad} NaN or infinite "
                                  "values; refusing weights that would sample garbage")
        largest = float(value.abs().max()) if value.numel() else 0.0
        if largest > MAX_ABS_WEIGHT:
            raise CheckpointError(f"{where}: {field_name}[{key!r}] holds a weight of magnitude "
                                  f"{largest:.3g}, more than {MAX_ABS_WEIGHT:g} (a corrupt file?)")


def _check_meta(meta: Any, where: str) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: field 'meta' must be a dict, found {type(meta).__name__}")
    for key, value in meta.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{where}: meta key {str(key)[:60]!r} is not a string")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise CheckpointError(f"{where}: meta[{key!r}] must be a str, int, float, bool or "
                                  f"None, found {type(value).__name__}")
    for key, kind in (("trained", bool), ("frame", str), ("description", str)):
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{where}: meta[{key!r}] must be a {kind.__name__}, found "
                                  f"{str(meta[key])[:60]!r}")
    return dict(meta)


def _check_extra(extra: Any, where: str) -> dict[str, Any]:
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise CheckpointError(f"{where}: field 'extra' must be a dict, found "
                              f"{type(extra).__name__}")
    for key, kinds in _EXTRA_TYPES.items():
        value = extra.get(key)
        if key in extra and (not isinstance(value, kinds) or (
                isinstance(value, bool) and bool not in kinds)):
            names = " or ".join(k.__name__ for k in kinds)
            raise CheckpointError(f"{where}: extra[{key!r}] must be a {names}, found "
                                  f"{type(value).__name__}")
    return dict(extra)


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint file (``weights_only=True``: no code is unpickled).

    Raises:
        CheckpointError: naming the file and the field (see the module docstring).
    """
    path = Path(path)
    payload = load_weights_only(path, "checkpoint")
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(payload).__name__}")
    if not isinstance(payload.get("format"), str) or payload["format"] != FORMAT:
        hint = (" (it looks like a reference POSA checkpoint: convert it once with its mesh_ds "
                "folder: python -m posa_model.convert --reference FILE --mesh-ds mesh_ds/ "
                "--body SMPLX_NEUTRAL.npz --out posa_smplx.pt)"
                if "model_state_dict" in payload else "")
        raise CheckpointError(f"{path}: not a posa_model checkpoint (field 'format'){hint}")
    version = payload.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {str(version)[:40]} is not supported (this code reads "
            f"{FORMAT_VERSION})"
        )
    for key, kind in (("model_config", dict), ("hierarchy_fingerprint", str),
                      ("state_dict", dict), ("frame_regressor", torch.Tensor)):
        if not isinstance(payload.get(key), kind):
            raise CheckpointError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    regressor = payload["frame_regressor"]
    if (regressor.ndim != 2 or regressor.shape[0] != 4 or not regressor.is_floating_point()
            or regressor.numel() > MAX_PARAMETERS or not torch.isfinite(regressor).all()
            or (regressor.numel() and float(regressor.abs().max()) > MAX_ABS_WEIGHT)):
        raise CheckpointError(
            f"{path}: field 'frame_regressor' must be a finite floating-point (4, V) tensor "
            f"with entries of magnitude <= {MAX_ABS_WEIGHT:g}, found {regressor.dtype} "
            f"{tuple(regressor.shape)}"
        )
    config = ModelConfig.from_dict(payload["model_config"], source=str(path))
    check_state_dict(payload["state_dict"], str(path))
    hierarchy = None
    if payload.get("hierarchy") is not None:
        hierarchy = hierarchy_from_payload(payload["hierarchy"], str(path),
                                           payload["hierarchy_fingerprint"])
    return Checkpoint(
        config=config,
        hierarchy_fingerprint=payload["hierarchy_fingerprint"],
        state_dict=payload["state_dict"],
        frame_regressor=regressor.float(),
        meta=_check_meta(payload.get("meta"), str(path)),
        extra=_check_extra(payload.get("extra"), str(path)),
        path=path,
        hierarchy=hierarchy,
    )


def build_model(checkpoint: Checkpoint, hierarchy: Any) -> nn.Module:
    """Rebuild the POSA model of ``checkpoint`` on ``hierarchy`` and load its weights (fp32).

    Refuses a hierarchy whose fingerprint differs from the one the weights were trained with:
    spirals or down-sampling in another order would silently give garbage.
    """
    from .cvae import POSA

    where = checkpoint.path or "checkpoint"
    if checkpoint.hierarchy_fingerprint != hierarchy.fingerprint:
        raise CheckpointError(
            f"{where}: trained on mesh hierarchy {checkpoint.hierarchy_fingerprint}, but the "
            f"hierarchy in use is {hierarchy.fingerprint} (different topology, decimation or "
            "spiral order); the weights would give garbage. Use the hierarchy the checkpoint "
            "was trained with."
        )
    n_full = hierarchy.vertices[0].shape[0]
    if checkpoint.frame_regressor.shape[1] != n_full:
        raise CheckpointError(
            f"{where}: frame_regressor covers {checkpoint.frame_regressor.shape[1]} vertices, "
            f"the hierarchy's full mesh has {n_full}"
        )
    model = POSA.from_hierarchy(checkpoint.config, hierarchy)
    state = {k: v.float() for k, v in checkpoint.state_dict.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: state_dict does not match the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{where}: state_dict[{key!r}] has shape {tuple(state[key].shape)}, the model "
                f"expects {tuple(tensor.shape)}"
            )
    model.load_state_dict(state)
    return model.eval()
