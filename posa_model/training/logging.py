"""Run logs: R/log.csv (one row per epoch), TensorBoard events (if installed), R/curves.png, and
one console line per epoch.

The history (a list of per-epoch dicts of numbers) lives in the checkpoint, so the CSV is
rewritten from it atomically each epoch: after a kill and ``--resume`` it has exactly one row per
completed epoch.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..io_utils import atomic_write


def write_csv(path: str | os.PathLike, history: list[dict[str, Any]]) -> Path:
    """Write ``history`` as CSV (columns in first-seen order) atomically."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    data = buffer.getvalue().encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


class TensorBoard:
    """``SummaryWriter`` when tensorboard is importable; otherwise every call does nothing."""

    def __init__(self, log_dir: str | os.PathLike):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard not installed: skip silently
            self._writer = None
        else:
            self._writer = SummaryWriter(log_dir=str(log_dir))

    def log(self, row: dict[str, Any], step: int) -> None:
        if self._writer is None:
            return
        for key, value in row.items():
            if isinstance(value, int | float) and key not in ("epoch", "step"):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def plot_curves(path: str | os.PathLike, history: list[dict[str, Any]]) -> Path | None:
    """Loss terms (train vs val) and validation contact/semantic metrics per epoch -> PNG.

    Returns None (writes nothing) when matplotlib is not installed or the history is empty.
    """
    if not history:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [row["epoch"] for row in history]
    panels = [("loss (total)", ["train_loss", "val_loss"]), ("KL", ["train_kl", "val_kl"]),
              ("contact BCE", ["train_contact", "val_contact"]),
              ("semantics CE", ["train_semantics", "val_semantics"]),
              ("validation metrics", ["val_precision", "val_recall", "val_f1",
                                      "val_semantic_acc"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (title, keys) in zip(axes, panels, strict=True):
        for key in keys:
            values = [row.get(key, math.nan) for row in history]
            if any(isinstance(v, float) and not math.isnan(v) for v in values):
                ax.plot(epochs, values, marker="o", markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    data = buffer.getvalue()
    return atomic_write(path, lambda f: f.write(data))


def print_epoch(row: dict[str, Any], epochs: int) -> None:
    """One console line for an epoch's log row (above a tqdm bar, if any)."""
    text = (f"epoch {row['epoch']:3d}/{epochs} step {row['step']:6d} | train loss "
            f"{row['train_loss']:.4f} (kl {row['train_kl']:.4f} contact "
            f"{row['train_contact']:.4f} sem {row['train_semantics']:.4f})")
    if "val_loss" in row:
        text += (f" | val loss {row['val_loss']:.4f} F1 {row['val_f1']:.3f} P "
                 f"{row['val_precision']:.3f} R {row['val_recall']:.3f} sem_acc "
                 f"{row['val_semantic_acc']:.3f}")
    tqdm.write(text + f" | {row['bodies_per_s']:.0f} bodies/s", file=sys.stdout)
    sys.stdout.flush()
