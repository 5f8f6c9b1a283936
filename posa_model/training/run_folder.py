"""The run folder of ``posa_model.train``: its files, one writer at a time, and its repair after
a kill.

A run folder R holds ``config.yaml``, ``log.csv``, ``curves.png``, ``tensorboard/``, and per
epoch the checkpoints of :func:`checkpoint_files`: ``last.pt`` first, then ``best.pt`` when the
epoch is the best so far and ``checkpoints/epoch_XXX.pt`` every ``checkpoint_every`` epochs and
at the last one, all written atomically.

One trainer at a time holds ``R/.posa_train.lock`` (:func:`lock_run_folder`; a second one is
refused). On start it removes the hidden temporaries a killed run left
(:func:`remove_stale_temps`). A kill -9 between ``last.pt`` and the other files of its epoch is
repaired on ``--resume`` (:func:`repair_after_kill`): the files that epoch was due to write and
that do not hold it are rewritten from ``last.pt`` (whose content is identical).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import CheckpointError, PosaError
from ..nn.checkpoint import Checkpoint, read_checkpoint
from .config import TrainConfig

__all__ = ["LOCK_NAME", "RUN_OUTPUTS", "checkpoint_files", "lock_run_folder",
           "remove_stale_temps", "repair_after_kill", "unlock"]

#: Files the trainer writes in its run folder (checked against the inputs before any work).
RUN_OUTPUTS = ("config.yaml", "log.csv", "last.pt", "best.pt", "curves.png")
#: Files of a run folder written through ``io_utils.atomic_write`` (their temporaries are
#: ``.<name>.<8 chars>.tmp``).
_RUN_FILES = re.compile(r"^\.(last\.pt|best\.pt|config\.yaml|config\.json|log\.csv|"
                        r"curves\.png|epoch_\d{3,}\.pt)\.[A-Za-z0-9_]{8}\.tmp$")
LOCK_NAME = ".posa_train.lock"


def checkpoint_files(out: Path, epoch: int, best: bool, config: TrainConfig) -> list[Path]:
    """The checkpoints epoch ``epoch`` writes, in order: ``last.pt`` (first: an existing
    ``best.pt`` or epoch file of that epoch implies ``last.pt`` is complete), ``best.pt`` when
    ``best``, ``checkpoints/epoch_XXX.pt`` when due."""
    files = [out / "last.pt"]
    if best:
        files.append(out / "best.pt")
    if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
        files.append(out / "checkpoints" / f"epoch_{epoch:03d}.pt")
    return files


def lock_run_folder(out: Path):
    """An exclusive lock on ``out`` (POSIX ``flock``) held for the run; PosaError when another
    trainer holds it. Returns the open lock file (None where locks are unavailable)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (temp files are then only removed when old)
        return None
    handle = open(out / LOCK_NAME, "a+b")  # noqa: SIM115 - held until the run ends
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise PosaError(f"{out}: another posa_model.train is writing this run folder "
                        f"({LOCK_NAME} is locked); wait for it or choose another --out-dir"
                        ) from exc
    return handle


def unlock(handle) -> None:
    """Release a :func:`lock_run_folder` lock (None: nothing to release)."""
    if handle is not None:
        handle.close()  # closing releases the flock


def remove_stale_temps(out: Path) -> list[Path]:
    """Remove the temporaries of our run files that a killed run left in ``out`` and
    ``out/checkpoints`` (safe: this process holds the run folder's lock)."""
    from ..cli import clean_stale_temps

    removed = []
    lockable = True
    try:
        import fcntl  # noqa: F401 - only to know whether the folder is locked
    except ImportError:
        lockable = False
    for folder in (out, out / "checkpoints"):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _RUN_FILES.match(name)
            if not match:
                continue
            removed += clean_stale_temps([folder / match[1]], locked=lockable)
    return removed


def repair_after_kill(out: Path, ckpt: Checkpoint, saved: TrainConfig,
                      best_epoch: int | None) -> list[Path]:
    """Rewrite ``best.pt`` / the epoch file of the resumed epoch when a kill -9 after
    ``last.pt`` left them stale or missing: their content equals the resumed checkpoint
    ``ckpt`` (read from ``ckpt.path``, written with ``saved``)."""
    epoch = int(ckpt.extra["epoch"])
    source = Path(ckpt.path)
    repaired = []
    for target in checkpoint_files(out, epoch, best_epoch == epoch, saved)[1:]:
        if target.resolve() == source.resolve() or _holds_epoch(target, epoch):
            continue
        _copy_atomic(source, target)
        repaired.append(target)
        print(f"posa_model.train: rewrote {target} from {source} (epoch {epoch}; the previous "
              "run was killed before writing it)", flush=True)
    return repaired


def _holds_epoch(path: Path, epoch: int) -> bool:
    if not path.is_file():
        return False
    try:
        return read_checkpoint(path).extra.get("epoch") == epoch
    except PosaError:
        return False


def _copy_atomic(source: Path, target: Path) -> None:
    from ..io_utils import atomic_write, open_regular_file
    from ..nn.checkpoint import MAX_CHECKPOINT_BYTES

    with open_regular_file(source, "checkpoint", CheckpointError, MAX_CHECKPOINT_BYTES) as f:
        atomic_write(target, lambda out: shutil.copyfileobj(f, out))
