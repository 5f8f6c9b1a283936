"""ModelConfig: the frozen description of a POSA cVAE (what a checkpoint needs to rebuild it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import CheckpointError


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
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise CheckpointError(f"{source}: unknown model_config fields {unknown}")
        for key, value in data.items():
            expected = bool if fields[key].type in ("bool", bool) else int
            if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise CheckpointError(f"{source}: model_config.{key} must be an int, got {value!r}")
            if expected is bool and not isinstance(value, bool):
                raise CheckpointError(f"{source}: model_config.{key} must be a bool, got {value!r}")
        return cls(**data)
