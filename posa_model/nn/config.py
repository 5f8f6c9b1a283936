"""ModelConfig: the frozen description of a POSA cVAE (what a checkpoint needs to rebuild it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import ModelConfigError

#: Inclusive (low, high) of every int field. The highs bound what a checkpoint or a settings
#: file can make us allocate (a z_dim of 10**7 would ask for gigabytes before any check).
LIMITS: dict[str, tuple[int, int]] = {
    "num_classes": (1, 1024),
    "z_dim": (2, 4096),  # the decoder's first block has z_dim // 2 channels
    "h_dim": (1, 8192),
    "channels": (1, 1024),
    "num_groups": (1, 1024),  # and it must divide channels
    "seq_length": (1, 64),
    "dilation": (1, 16),
    "num_hidden_layers": (0, 64),
    "network_level": (0, 16),
}


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the spiral cVAE; defaults are the reference contact+semantics model.

    With a 655/164/41-vertex hierarchy and 42 classes the defaults give 1,923,435 parameters.
    """

    use_semantics: bool = True  #: predict the 42 MPCAT40 classes besides contact
    num_classes: int = 42  #: semantic classes (MPCAT40, 0 = void)
    z_dim: int = 256  #: latent size
    h_dim: int = 512  #: encoder's fully connected width
    channels: int = 64  #: spiral convolution width
    num_groups: int = 8  #: GroupNorm groups
    seq_length: int = 9  #: spiral length (vertex itself + neighbours)
    dilation: int = 1  #: spiral dilation
    num_hidden_layers: int = 3  #: decoder's 64->64 spiral blocks
    network_level: int = 2  #: hierarchy level the network runs on (655 vertices for SMPL-X)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, source: str = "ModelConfig") -> None:
        """Raise :class:`ModelConfigError` naming ``source`` and the field unless every field
        has its type and lies in :data:`LIMITS`, and ``num_groups`` divides ``channels``."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "use_semantics":
                if not isinstance(value, bool):
                    raise ModelConfigError(f"{source}: model_config.{f.name} must be a bool, "
                                           f"got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ModelConfigError(f"{source}: model_config.{f.name} must be an int, got "
                                       f"{value!r}")
            lo, hi = LIMITS[f.name]
            if not lo <= value <= hi:
                raise ModelConfigError(f"{source}: model_config.{f.name} must be in {lo}..{hi}, "
                                       f"got {value}")
        if self.channels % self.num_groups:
            raise ModelConfigError(f"{source}: model_config.num_groups ({self.num_groups}) must "
                                   f"divide model_config.channels ({self.channels})")

    @property
    def feature_dim(self) -> int:
        """Channels of the egocentric feature map: contact (1) [+ one-hot classes]."""
        return 1 + (self.num_classes if self.use_semantics else 0)

    @classmethod
    def contact_only(cls, **overrides: Any) -> ModelConfig:
        """The reference 'contact' configuration: contact probability only, no semantics."""
        return cls(use_semantics=False, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> ModelConfig:
        """Rebuild from :meth:`to_dict` output, naming ``source`` and the field on bad input."""
        if not isinstance(data, dict):
            raise ModelConfigError(f"{source}: model_config must be a dict, found "
                                   f"{type(data).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k)[:40] for k in set(data) - fields)
        if unknown:
            raise ModelConfigError(f"{source}: unknown model_config fields {unknown[:10]}")
        config = cls.__new__(cls)  # validate with the source named before __post_init__ runs
        for f in dataclasses.fields(cls):
            object.__setattr__(config, f.name, data.get(f.name, f.default))
        config.validate(source)
        return cls(**data)
