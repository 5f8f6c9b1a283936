"""Building blocks of the POSA cVAE: spiral convolution and Linear/Spiral + GroupNorm + ReLU.

Tensors are (B, V, C): batch, mesh vertices, channels.
"""

from __future__ import annotations

import torch
from torch import nn


class SpiralConv(nn.Module):
    """SpiralNet++ convolution: gather each vertex's spiral, concatenate, one Linear.

    Args:
        in_channels, out_channels: C_in, C_out.
        spirals: (V, S) int64 spiral indices (vertex itself first), stored as a buffer that is
            not saved in state dicts (checkpoints carry the hierarchy fingerprint instead).
    """

    def __init__(self, in_channels: int, out_channels: int, spirals: torch.Tensor):
        super().__init__()
        if spirals.ndim != 2:
            raise ValueError(f"spirals must be (V, S), got shape {tuple(spirals.shape)}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.register_buffer("spirals", spirals.long(), persistent=False)
        self.linear = nn.Linear(in_channels * spirals.shape[1], out_channels)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, V, C_in) -> (B, V, C_out)."""
        batch, num_vertices, _ = x.shape
        gathered = torch.index_select(x, 1, self.spirals.reshape(-1))
        return self.linear(gathered.reshape(batch, num_vertices, -1))

    def extra_repr(self) -> str:
        v, s = self.spirals.shape
        return f"{self.in_channels}, {self.out_channels}, vertices={v}, seq_length={s}"


def _group_norm(channels: int, num_groups: int) -> nn.GroupNorm:
    # The reference falls back to one group per channel when channels % groups != 0.
    return nn.GroupNorm(num_groups if channels % num_groups == 0 else channels, channels)


class SpiralBlock(nn.Module):
    """SpiralConv -> GroupNorm over channels -> ReLU; (B, V, C_in) -> (B, V, C_out)."""

    def __init__(self, in_channels: int, out_channels: int, spirals: torch.Tensor, groups: int):
        super().__init__()
        self.conv = SpiralConv(in_channels, out_channels, spirals)
        self.norm = _group_norm(out_channels, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return torch.relu(self.norm(x.transpose(1, 2)).transpose(1, 2))


class LinearBlock(nn.Module):
    """Per-vertex Linear -> GroupNorm over channels -> ReLU; (B, V, C_in) -> (B, V, C_out)."""

    def __init__(self, in_channels: int, out_channels: int, groups: int):
        super().__init__()
        self.linear = nn.Linear(in_channels, out_channels)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.norm = _group_norm(out_channels, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)
        return torch.relu(self.norm(x.transpose(1, 2)).transpose(1, 2))
