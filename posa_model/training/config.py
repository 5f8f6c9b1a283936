"""TrainConfig: every setting of a training run, from defaults < a YAML/JSON file < the CLI.

The defaults are the reference "contact_semantics" recipe (POSA_REFERENCE.md, "Training"):
Adam lr 1e-3, batch 64, 15 epochs, kl_w 0.1, contact_w 1, semantics_w 1, contact at 0.05 m.

Every number is checked on construction: finite (``kl_w: .nan`` or ``lr: .inf`` are refused)
and inside :data:`INT_RANGES` / :data:`FLOAT_RANGES` (model sizes share
:data:`posa_model.nn.config.LIMITS`). Settings files are read by
:func:`posa_model.io_utils.read_json_bounded` / :func:`~posa_model.io_utils.read_yaml_bounded`
(a regular file of at most :data:`MAX_CONFIG_BYTES`, UTF-8, bounded nesting, int64 ints).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io_utils import atomic_write, read_json_bounded, read_yaml_bounded
from ..nn.config import LIMITS, ModelConfig

#: Largest settings file read.
MAX_CONFIG_BYTES = 1 << 20
#: Inclusive (low, high) of the int settings.
INT_RANGES: dict[str, tuple[int, int]] = {
    "epochs": (1, 1_000_000),
    "batch_size": (1, 1 << 20),
    "checkpoint_every": (1, 1_000_000),
    "kl_warmup_steps": (0, 1 << 40),
    "num_workers": (0, 1024),
    "seed": (0, 2**63 - 1),
    # the model's sizes: ModelConfig's limits (the trainer also wants a hidden layer)
    **{name: LIMITS[name] for name in ("z_dim", "h_dim", "channels", "num_groups",
                                       "network_level")},
    "num_hidden_layers": (1, LIMITS["num_hidden_layers"][1]),
}
#: Inclusive (low, high) of the float settings; ``lr`` and ``contact_threshold`` must be > 0.
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "lr": (0.0, 10.0),
    "contact_threshold": (0.0, 10.0),
    "kl_w": (0.0, 1e6),
    "contact_w": (0.0, 1e6),
    "semantics_w": (0.0, 1e6),
    "kl_free_bits": (0.0, 1e6),
    "weight_decay": (0.0, 1e3),
    "prior_w": (0.0, 1e6),
    "lr_min_factor": (0.0, 1.0),
}
_POSITIVE = ("lr", "contact_threshold")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d{1,4})?)$")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Paths are strings so the config round-trips through YAML/JSON."""

    # data and outputs
    data: str = "data"  #: root folder with train/ and test/ in the reference format
    out_dir: str = "runs/posa"  #: run folder R: config.yaml, log.csv, last.pt, best.pt, ...
    hierarchy: str | None = None  #: None = the stand-in's; a saved .npz or a mesh_ds folder
    frame: str = "canonical"  #: frame of vertices_can: "canonical" or "reference"
    frame_regressor: str | None = None  #: .npy (4, V_full) rows pelvis, l_hip, r_hip, spine3
    # optimisation (reference recipe)
    epochs: int = 15
    batch_size: int = 64  #: global batch (split over DDP ranks)
    lr: float = 1e-3
    kl_w: float = 0.1
    contact_w: float = 1.0
    semantics_w: float = 1.0
    contact_threshold: float = 0.05  #: metres
    # options beyond the reference recipe (all off by default)
    kl_free_bits: float = 0.0  #: floor (nats) on each body's KL in the loss; 0 = off
    kl_warmup_steps: int = 0  #: kl_w rises linearly over this many optimiser steps; 0 = off
    weight_decay: float = 0.0  #: Adam L2 weight decay; 0 = off (reference)
    prior_w: float = 0.0  #: weight of the reconstruction from z ~ N(0, I) (hybrid); 0 = off
    lr_schedule: str = "constant"  #: constant (reference) | cosine (to lr_min_factor*lr at end)
    lr_min_factor: float = 0.05  #: final lr / lr of the cosine schedule
    remap_classes: bool = True  #: reference remap {34: 10, 25: 28}; CLI: off for synthesize data
    seed: int = 0
    # execution
    device: str = "auto"  #: auto | cpu | cuda | cuda:N
    bf16: bool = False  #: bf16 autocast for the forward pass (losses stay fp32)
    compile: bool = False  #: torch.compile the training step (the plain module is saved)
    num_workers: int = 0  #: DataLoader worker processes
    check_data: bool = True  #: scan all data values once (NaN/inf, class ids) at start
    # checkpoints and logging
    checkpoint_every: int = 5  #: R/checkpoints/epoch_XXX.pt every N epochs (and the last)
    best_metric: str = "val_loss"  #: val_loss (lower) | val_f1 (higher); no test/: train_loss
    progress: bool = True  #: tqdm progress bar
    # model (seq_length / dilation come from the hierarchy)
    use_semantics: bool = True
    z_dim: int = 256
    h_dim: int = 512
    channels: int = 64
    num_groups: int = 8
    num_hidden_layers: int = 3
    network_level: int = 2

    def __post_init__(self) -> None:
        for name, (lo, hi) in INT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"TrainConfig.{name} must be an int, got {value!r}")
            if value < lo:
                raise ConfigError(f"TrainConfig.{name} must be >= {lo}, got {value}")
            if value > hi:
                raise ConfigError(f"TrainConfig.{name} must be <= {hi}, got {value}")
        for name, (lo, hi) in FLOAT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"TrainConfig.{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"TrainConfig.{name} must be a finite number, got {value}")
            if name in _POSITIVE and not value > lo:
                raise ConfigError(f"TrainConfig.{name} must be > {lo:g}, got {value}")
            if value < lo:
                raise ConfigError(f"TrainConfig.{name} must be >= {lo:g}, got {value}")
            if value > hi:
                raise ConfigError(f"TrainConfig.{name} must be <= {hi:g}, got {value}")
        if self.channels % self.num_groups:
            raise ConfigError(f"TrainConfig.num_groups ({self.num_groups}) must divide "
                              f"channels ({self.channels})")
        if self.frame not in ("canonical", "reference"):
            raise ConfigError(f"TrainConfig.frame must be 'canonical' or 'reference', got "
                              f"{self.frame!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"TrainConfig.lr_schedule must be 'constant' or 'cosine', got "
                              f"{self.lr_schedule!r}")
        if self.lr_min_factor > 1:
            raise ConfigError(f"TrainConfig.lr_min_factor must be <= 1, got "
                              f"{self.lr_min_factor}")
        if not _DEVICE.match(self.device):
            raise ConfigError(f"TrainConfig.device must be auto, cpu, cuda or cuda:N, got "
                              f"{self.device[:40]!r}")
        if self.best_metric not in ("val_loss", "val_f1"):
            raise ConfigError(f"TrainConfig.best_metric must be 'val_loss' or 'val_f1', got "
                              f"{self.best_metric!r}")

    def model_config(self, seq_length: int = 9, dilation: int = 1) -> ModelConfig:
        """The ModelConfig of this run (spiral length/dilation from the hierarchy)."""
        return ModelConfig(use_semantics=self.use_semantics, z_dim=self.z_dim, h_dim=self.h_dim,
                           channels=self.channels, num_groups=self.num_groups,
                           seq_length=seq_length, dilation=dilation,
                           num_hidden_layers=self.num_hidden_layers,
                           network_level=self.network_level)

    def kl_weight(self, step: int) -> float:
        """kl_w for the optimiser step with 0-based index ``step``: ``kl_w * min(1, (step + 1)
        / kl_warmup_steps)`` (linear warm-up), or ``kl_w`` when the warm-up is off."""
        if self.kl_warmup_steps <= 0:
            return self.kl_w
        return self.kl_w * min(1.0, (step + 1) / self.kl_warmup_steps)

    def learning_rate(self, step: int, total_steps: int) -> float:
        """lr for the optimiser step with 0-based index ``step`` of ``total_steps``: ``lr``
        (constant) or a cosine from ``lr`` down to ``lr_min_factor * lr`` at the last step."""
        if self.lr_schedule == "constant" or total_steps <= 1:
            return self.lr
        t = min(1.0, step / (total_steps - 1))
        low = self.lr * self.lr_min_factor
        return low + 0.5 * (self.lr - low) * (1.0 + math.cos(math.pi * t))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a mapping (keys may use '-' or '_'), checking names and types."""
        return cls(**_coerce(data, source))

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **_coerce(changes, "replace"))


#: Settings that a resumed run may not change (they define the model or the batch order).
FIXED_ON_RESUME = ("seed", "batch_size", "use_semantics", "z_dim", "h_dim", "channels",
                   "num_groups", "num_hidden_layers", "network_level", "hierarchy")


def _field_types() -> dict[str, tuple[type, bool]]:
    """name -> (base type, optional) for every TrainConfig field."""
    hints = typing.get_type_hints(TrainConfig)
    out = {}
    for f in dataclasses.fields(TrainConfig):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else ()
        base = next((a for a in args if a is not type(None)), hint)
        out[f.name] = (base, type(None) in args)
    return out


def _coerce(data: dict[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, found "
                          f"{type(data).__name__}")
    kinds = _field_types()
    out = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key not in kinds:
            raise ConfigError(f"{source}: unknown training setting {raw_key!r} (known: "
                              f"{', '.join(sorted(kinds))})")
        base, optional = kinds[key]
        if value is None and optional:
            out[key] = None
        elif base is bool and isinstance(value, bool):
            out[key] = value
        elif base is int and isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
        elif base is float and isinstance(value, int | float) and not isinstance(value, bool):
            try:
                out[key] = float(value)
            except OverflowError:
                raise ConfigError(f"{source}: setting {key!r} is out of range: "
                                  f"{str(value)[:40]}...") from None
        elif base is str and isinstance(value, str | os.PathLike):
            text = str(value)
            if "\0" in text or len(text) > 4096:
                raise ConfigError(f"{source}: setting {key!r} must be a path or name without NUL "
                                  f"characters, of at most 4096 characters")
            out[key] = text
        else:
            want = base.__name__ + (" or null" if optional else "")
            raise ConfigError(f"{source}: setting {key!r} must be a {want}, got "
                              f"{str(value)[:80]!r}")
    return out


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML (.yaml/.yml) or JSON settings file into a dict of raw settings."""
    path = Path(path)
    if not os.path.lexists(path):
        raise ConfigError(f"config file not found: {path}")
    reader = read_json_bounded if path.suffix.lower() == ".json" else read_yaml_bounded
    data = reader(path, "settings file", max_bytes=MAX_CONFIG_BYTES, error=ConfigError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, found {type(data).__name__}")
    _coerce(data, str(path))  # name bad keys / types now, with the file in the message
    return data


def save_config(path: str | os.PathLike, config: TrainConfig) -> Path:
    """Write the resolved config atomically: YAML when pyyaml is installed, else JSON."""
    data = config.to_dict()
    path = Path(path)
    try:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    except ImportError:
        path = path.with_suffix(".json")
        text = json.dumps(data, indent=2)
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _field_docs() -> dict[str, str]:
    """The ``#:`` comment of each TrainConfig field (for --help)."""
    try:
        source = inspect.getsource(TrainConfig)
    except (OSError, TypeError):
        return {}
    return dict(re.findall(r"^\s+(\w+):[^#\n]*#:\s*(.+)$", source, flags=re.MULTILINE))


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--kebab-case`` option per TrainConfig field; unset options stay absent."""
    group = parser.add_argument_group("training settings (override --config)")
    docs = _field_docs()
    for f in dataclasses.fields(TrainConfig):
        base, optional = _field_types()[f.name]
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{docs.get(f.name, '')} (default: {f.default!r})".replace("%", "%%")
        if base is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            convert = base
            if optional:
                def convert(text, base=base):
                    return None if text.lower() in ("none", "null", "") else base(text)
            group.add_argument(flag, type=convert, default=argparse.SUPPRESS,
                               metavar=base.__name__.upper(), help=help_text)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m posa_model.train``: ``--config`` and ``--resume`` and one
    option per :class:`TrainConfig` field (:func:`add_config_arguments`)."""
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.train",
        description="Train the POSA contact/semantics cVAE on data in the reference format.",
        epilog="Data written by posa_model.synthesize trains with --no-remap-classes unless "
               "--remap-classes is given (the reference remap turns bathtub into lighting).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML or JSON file of settings; CLI options override it")
    parser.add_argument("--resume", type=Path, default=None,
                        help="continue exactly from a checkpoint of this trainer (R/last.pt)")
    add_config_arguments(parser)
    return parser


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None,
                     ) -> tuple[TrainConfig, dict[str, Any]]:
    """defaults (or ``base``) < ``--config FILE`` < explicit CLI options.

    Returns the config and the dict of settings given explicitly (file + CLI).
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given: dict[str, Any] = {}
    if getattr(args, "config", None):
        given.update({k.replace("-", "_"): v for k, v in load_config_file(args.config).items()})
    given.update({k: v for k, v in vars(args).items() if k in names})
    merged = {**(base or TrainConfig()).to_dict(), **given}
    return TrainConfig.from_dict(merged, source="settings"), given
