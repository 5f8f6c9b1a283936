"""Train the POSA cVAE on data in the reference format, in one readable loop.

    python -m posa_model.train --data DATA --out-dir runs/r1 [--epochs 15 --batch-size 64 ...]
    python -m posa_model.train --config run.yaml --epochs 2        # CLI overrides the file
    python -m posa_model.train --resume runs/r1/last.pt [--epochs 30]
    torchrun --nproc_per_node 2 -m posa_model.train --data DATA ...  # DDP (gloo CPU / NCCL)

Defaults are the reference contact+semantics recipe (:class:`TrainConfig`). A run folder R gets
``config.yaml`` (resolved settings), ``log.csv``, TensorBoard events (when installed),
``curves.png`` (when matplotlib is installed), ``last.pt`` every epoch, ``best.pt`` for the best
validation score and ``checkpoints/epoch_XXX.pt`` every ``checkpoint_every`` epochs, all in our
checkpoint format (:mod:`posa_model.nn.checkpoint`) and written atomically.

Run folder safety: one trainer at a time holds ``R/.posa_train.lock`` (a second one is refused);
on start it removes the hidden temporary files a killed run left (``.last.pt.XXXXXXXX.tmp``...).
``last.pt`` is written first each epoch, then ``best.pt`` and the epoch file; a kill -9 between
them is repaired on ``--resume``: when the resumed epoch was the best (``extra["best_epoch"]``)
or due an epoch file and ``best.pt`` / ``checkpoints/epoch_XXX.pt`` does not hold that epoch,
the file is rewritten from ``last.pt`` (whose content is identical). Runs on a hierarchy other
than the stand-in's embed it in every checkpoint (``--checkpoint`` then needs no
``--hierarchy``). From the command line, data written by ``posa_model.synthesize`` (its
``COMPLETE`` marker) trains with ``--no-remap-classes`` unless ``--remap-classes`` is given.

Reproducibility: the model is initialised from ``seed``; epoch e shuffles with a permutation
seeded by (seed, e); the reparameterisation noise of each step is drawn for the whole global
batch from one seeded CPU ``torch.Generator`` and each DDP rank takes its slice. A checkpoint's
``extra`` holds the optimiser state, every RNG state, epoch, step, best score, history and the
config, so ``--resume`` continues exactly where the last completed epoch ended (resuming mid-epoch
is not supported: a run killed during epoch e restarts epoch e).

Options beyond the reference recipe, all off by default: ``--kl-free-bits F`` (each body's KL
floored at F nats in the loss, against posterior collapse), ``--kl-warmup-steps N`` (kl_w rises
linearly over the first N optimiser steps), ``--weight-decay``, ``--lr-schedule cosine`` (lr
decays to ``lr_min_factor * lr`` over ``epochs``), ``--prior-w W`` (adds W times the
reconstruction loss of a second decoding from z ~ N(0, I): the hybrid cVAE objective of Sohn et
al. 2015, which trains the decoder on the latents that sampling uses; its noise is drawn after
the reparameterisation noise from the same generator). The warm-up and the schedule are functions of
the global step (and ``epochs``), so a resumed run follows them exactly; resume with the same
``--epochs`` to keep the cosine schedule unchanged.

Frame regressor stored in the checkpoint (which vertices give pelvis, hips, spine3 at sampling
time): ``--frame-regressor FILE.npy`` (4, V_full) if given; otherwise the stand-in's SMPL-X
``J_regressor`` rows when the hierarchy's full mesh is the stand-in's (same faces); otherwise
the ``J_regressor`` rows of the body model a ``posa_model.synthesize`` dataset was made with
(``summary.json`` ``config.body``), when that file is there and is the hierarchy's mesh;
otherwise an APPROXIMATE regressor from the hierarchy's rest mesh (pelvis = all vertices' mean,
left/right hip = mean of the +x/-x halves, spine3 = mean of the upper half), which gives the
identity frame for a rest-pose body facing +z with +y up. Pass a real one for production use;
``meta["frame_regressor"]`` records which was used.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader
from tqdm import tqdm

from .data import IndexBatches, PosaDataset
from .errors import CheckpointError, PosaError
from .mesh.hierarchy import MeshHierarchy
from .nn.checkpoint import read_checkpoint, save_checkpoint
from .nn.cvae import POSA
from .training.config import (
    FIXED_ON_RESUME,
    ConfigError,
    TrainConfig,
    add_config_arguments,
    config_from_args,
    save_config,
)
from .training.distributed import DistContext, epoch_plan, setup_distributed, shard
from .training.distributed import teardown_distributed as _teardown
from .training.logging import TensorBoard, plot_curves, write_csv
from .training.losses import cvae_loss, reconstruction_loss
from .training.metrics import batch_counts, new_counts, summarize

__all__ = ["TrainConfig", "TrainResult", "evaluate", "main", "train"]

SMPLX_NUM_VERTICES = 10475


class NoisyPOSA(nn.Module):
    """POSA's training forward with the reparameterisation noise passed in.

    ``eps`` (b, z_dim) is this rank's slice of one global draw, so a DDP run sees the same noise
    per body as a single process. Returns (logits (b, V, F), mu, logvar (b, z_dim), prior_logits)
    where ``prior_logits`` (b, V, F) decode ``z_prior`` (b, z_dim) ~ N(0, I) for the hybrid
    loss when given (one decoder call for both), else None.
    """

    def __init__(self, posa: POSA):
        super().__init__()
        self.posa = posa

    def forward(self, f: torch.Tensor, vertices: torch.Tensor, eps: torch.Tensor,
                z_prior: torch.Tensor | None = None):
        mu, logvar = self.posa.encode(f, vertices)
        z = mu + eps * torch.exp(0.5 * logvar)
        if z_prior is None:
            return self.posa.decode_logits(z, vertices), mu, logvar, None
        both = self.posa.decode_logits(torch.cat([z, z_prior.to(z.dtype)]),
                                       torch.cat([vertices, vertices]))
        return both[:len(z)], mu, logvar, both[len(z):]


@dataclass
class TrainResult:
    """What :func:`train` produced (rank 0's paths; other ranks get the same values)."""

    out_dir: Path
    last: Path
    best: Path
    history: list[dict[str, Any]]
    model: POSA


# ---------------------------------------------------------------------------------------------
# helpers: frame regressor, RNG state, evaluation


def approximate_frame_regressor(rest_vertices: np.ndarray) -> torch.Tensor:
    """(V, 3) rest mesh (+y up, facing +z, left at +x) -> (4, V) rows averaging: all vertices
    (pelvis), the +x half (left hip), the -x half (right hip), the upper half (spine3)."""
    v = np.asarray(rest_vertices, dtype=np.float64)
    c = v.mean(axis=0)
    masks = [np.ones(len(v), bool), v[:, 0] > c[0], v[:, 0] < c[0], v[:, 1] > c[1]]
    rows = [m / m.sum() if m.any() else np.full(len(v), 1.0 / len(v)) for m in masks]
    return torch.from_numpy(np.stack(rows).astype(np.float32))


def _level0_faces(hierarchy: Any) -> np.ndarray | None:
    faces = getattr(hierarchy, "faces", None)
    return None if faces is None or len(faces) == 0 else np.asarray(faces[0])


def _dataset_body(data: str | os.PathLike) -> str | None:
    """The ``--body`` a posa_model.synthesize dataset was made with (None: the stand-in, or
    not such a dataset)."""
    from .io_utils import read_json_bounded
    from .synth.writer import is_synthetic_dataset

    if not is_synthetic_dataset(data):
        return None
    try:
        summary = read_json_bounded(Path(data) / "summary.json", "dataset summary")
    except PosaError:
        return None
    body = summary.get("config", {}).get("body") if isinstance(summary, dict) else None
    return body if isinstance(body, str) and body else None


def frame_regressor_for(config: TrainConfig, hierarchy: Any, standin: bool,
                        ) -> tuple[torch.Tensor, str]:
    """The (4, V_full) frame regressor to store, and a note of where it came from (see the
    module docstring for the order of the sources)."""
    from .io_utils import read_npy_bounded
    from .nn.mesh_check import faces_match

    n_full = int(hierarchy.vertices[0].shape[0])
    if config.frame_regressor:
        path = Path(config.frame_regressor)
        array = read_npy_bounded(path, "frame_regressor", kinds="f", error=ConfigError)
        if array.shape != (4, n_full) or not np.isfinite(array).all():
            raise ConfigError(f"frame_regressor {path}: expected a finite (4, {n_full}) array "
                              f"(pelvis, left_hip, right_hip, spine3), found {array.shape}")
        return torch.from_numpy(array.astype(np.float32)), f"file {path}"
    faces = _level0_faces(hierarchy)
    if standin or n_full == SMPLX_NUM_VERTICES:
        from .nn.default import standin_frame_regressor

        try:
            regressor = standin_frame_regressor()
            same = standin or faces is None or faces_match(
                faces, _level0_faces(_standin_hierarchy()))
        except (PosaError, OSError):
            if standin:
                raise
        else:
            if same and tuple(regressor.shape) == (4, n_full):
                return regressor, "stand-in SMPL-X J_regressor rows"
    body = _dataset_body(config.data)
    if body is not None and faces is not None:
        from .body import load_body_model
        from .frames import FRAME_JOINTS

        try:
            model = load_body_model(body)
        except (PosaError, OSError):
            model = None
        if (model is not None and model.num_vertices == n_full
                and faces_match(model.faces, faces)):
            rows = model.j_regressor.detach().to("cpu", torch.float32)[list(FRAME_JOINTS)]
            return rows.clone(), f"J_regressor rows of {body} (the dataset's body)"
    return (approximate_frame_regressor(hierarchy.vertices[0]),
            "approximate: rest-mesh halves (pass --frame-regressor for a real one)")


def _standin_hierarchy():
    from .mesh import standin_hierarchy

    return standin_hierarchy()


def capture_rng_state(noise: torch.Generator) -> dict[str, Any]:
    """Every RNG the run could touch, as tensors/ints (loadable with weights_only=True)."""
    # the legacy global numpy RNG is not used here, but user code or libraries may use it
    keys, pos, has_gauss, cached = np.random.get_state()[1:]  # noqa: NPY002
    version, py_state, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "noise": noise.get_state(),
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], noise: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    noise.set_state(state["noise"])
    n = state["numpy"]
    legacy = ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
              n["cached_gaussian"])
    np.random.set_state(legacy)  # noqa: NPY002
    p = state["python"]
    random.setstate((p["version"], tuple(int(i) for i in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _loader(dataset: PosaDataset, batches: list[np.ndarray], config: TrainConfig,
            device: torch.device) -> DataLoader:
    return DataLoader(IndexBatches(dataset, batches), batch_size=None, shuffle=False,
                      num_workers=config.num_workers, pin_memory=device.type == "cuda")


def _autocast(config: TrainConfig, device: torch.device):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=config.bf16)


@torch.no_grad()
def evaluate(model: POSA, dataset: PosaDataset, config: TrainConfig,
             ctx: DistContext | None = None) -> dict[str, float]:
    """Reconstruction metrics on ``dataset`` with z = mu (see :mod:`.training.metrics`).

    Under DDP each rank evaluates a shard and the counts are summed, so every rank gets the
    metrics of the whole split. Returns ``val_loss``, ``val_kl``, ``val_contact``,
    ``val_semantics``, ``val_precision``, ``val_recall``, ``val_f1``, ``val_semantic_acc``.
    """
    ctx = ctx or DistContext(0, 1, 0, next(model.parameters()).device)
    was_training = model.training
    model.eval()
    rows = shard(len(dataset), ctx.rank, ctx.world_size)
    batches = [rows[i:i + config.batch_size] for i in range(0, len(rows), config.batch_size)]
    counts = new_counts(ctx.device)
    use_sem = config.use_semantics
    for batch in _loader(dataset, batches, config, ctx.device):
        batch = batch.to(ctx.device, non_blocking=True)
        with _autocast(config, ctx.device):
            mu, logvar = model.encode(batch.features(use_sem), batch.vertices)
            logits = model.decode_logits(mu, batch.vertices)
        labels = batch.labels if use_sem else None
        terms = cvae_loss(logits, mu, logvar, batch.contact, labels, kl_w=config.kl_w,
                          contact_w=config.contact_w, semantics_w=config.semantics_w)
        b = len(batch)
        counts += batch_counts(logits, batch.contact, labels, terms.detached() * b, b)
    ctx.all_reduce_sum(counts)
    model.train(was_training)
    return summarize(counts, prefix="val_")


def _is_better(score: float, best: float | None, higher: bool) -> bool:
    if math.isnan(score):
        return False
    if best is None:
        return True
    return score > best if higher else score < best


# ---------------------------------------------------------------------------------------------
# the training loop


def train(config: TrainConfig, hierarchy: Any = None, resume: str | Path | None = None,
          on_step_end: Callable[[int, int], None] | None = None,
          on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainResult:
    """Run (or, with ``resume``, continue) training as described in the module docstring.

    Args:
        config: the run's settings.
        hierarchy: a mesh hierarchy object to use instead of ``config.hierarchy`` (e.g. one
            built in memory); None resolves ``config.hierarchy`` (None = the stand-in's).
        resume: a checkpoint written by this trainer (normally ``R/last.pt``).
        on_step_end(epoch, step), on_epoch_end(epoch, log_row): optional callbacks, every rank.
    """
    ctx = setup_distributed(config.device)
    locks: list = []  # the run folder's lock, taken by _train once the inputs are checked
    try:
        return _train(config, ctx, hierarchy, resume, on_step_end, on_epoch_end, locks)
    finally:
        for lock in locks:
            _unlock(lock)
        _teardown(ctx)


def _train(config, ctx: DistContext, hierarchy, resume, on_step_end, on_epoch_end, locks):
    device, out = ctx.device, Path(config.out_dir)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)  # noqa: NPY002 (legacy global RNG, for libraries)
    random.seed(config.seed)

    # -- model, data, optimiser -----------------------------------------------------------
    standin = hierarchy is None and config.hierarchy is None
    if hierarchy is None:
        from .sample import resolve_hierarchy

        hierarchy = resolve_hierarchy(config.hierarchy)
    model_config = config.model_config(int(hierarchy.seq_length), int(hierarchy.dilation))
    model = POSA.from_hierarchy(model_config, hierarchy).to(device)
    data_opts = dict(num_vertices=model.num_vertices, contact_threshold=config.contact_threshold,
                     remap_classes=config.remap_classes, use_semantics=config.use_semantics,
                     check_values=config.check_data)
    train_set = PosaDataset(Path(config.data) / "train", **data_opts)
    test_dir = Path(config.data) / "test"
    test_set = PosaDataset(test_dir, **data_opts) if test_dir.is_dir() else None
    regressor, regressor_source = frame_regressor_for(config, hierarchy, standin)
    # the hierarchy travels with the weights unless it is the stand-in's (shipped anyway)
    embedded = hierarchy if not standin and isinstance(hierarchy, MeshHierarchy) else None
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    noise = torch.Generator().manual_seed(config.seed)  # reparameterisation noise, global batch
    done, step, best, history = 0, 0, None, []  # completed epochs, optimiser steps
    best_epoch: int | None = None
    resumed = None  # (checkpoint, the config it was written with) when resuming

    if resume is not None:
        ckpt = read_checkpoint(resume)
        saved = ckpt.extra.get("train_config")
        if not isinstance(saved, dict) or "optimizer" not in ckpt.extra:
            raise CheckpointError(f"{resume}: has no trainer state in 'extra' (not written by "
                                  "posa_model.train); cannot resume it")
        saved = TrainConfig.from_dict(saved, source=f"{resume} extra.train_config")
        changed = [k for k in FIXED_ON_RESUME if getattr(saved, k) != getattr(config, k)]
        if changed:
            raise ConfigError(f"{resume}: cannot resume with different {changed} (they define "
                              "the model or the batch order)")
        if ckpt.hierarchy_fingerprint != hierarchy.fingerprint:
            raise CheckpointError(f"{resume}: trained on hierarchy {ckpt.hierarchy_fingerprint},"
                                  f" this run uses {hierarchy.fingerprint}")
        model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})
        optimizer.load_state_dict(ckpt.extra["optimizer"])
        for group in optimizer.param_groups:  # a changed --lr applies from now on
            group["lr"] = config.lr
            group["weight_decay"] = config.weight_decay
        restore_rng_state(ckpt.extra["rng"], noise)
        done, step = int(ckpt.extra["epoch"]), int(ckpt.extra["step"])
        best, history = ckpt.extra.get("best_score"), list(ckpt.extra.get("history", []))
        best_epoch = ckpt.extra.get("best_epoch", _best_epoch_of(history, best, saved))
        resumed = (ckpt, saved)

    step_module: nn.Module = NoisyPOSA(model)
    if config.compile:
        step_module = torch.compile(step_module)
    if ctx.distributed:
        # the spiral/down-sampling buffers are constants: no per-step buffer broadcast
        no_sync = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(DDP).parameters
                   else {"broadcast_buffers": False})
        step_module = DDP(step_module, device_ids=[ctx.local_rank] if device.type == "cuda"
                          else None, **no_sync)

    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        locks.append(_lock_run_folder(out))
        _remove_stale_temps(out)
        if resumed is not None:
            _repair_after_kill(out, resume, *resumed, best_epoch)
        save_config(out / "config.yaml", config)
        board = TensorBoard(out / "tensorboard")
        print(f"posa_model.train: {len(train_set)} train / "
              f"{len(test_set) if test_set else 0} test bodies, {model.num_vertices} vertices, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters, device {device}, "
              f"world size {ctx.world_size}, epochs {done + 1}..{config.epochs} -> {out}",
              flush=True)

    # -- epochs -----------------------------------------------------------------------------
    use_sem, z_dim = config.use_semantics, model_config.z_dim
    lr = config.lr
    for epoch in range(done + 1, config.epochs + 1):
        model.train()
        plan = epoch_plan(len(train_set), config.batch_size, config.seed, epoch, ctx.rank,
                          ctx.world_size)
        total_steps = config.epochs * len(plan)  # lr schedule / KL warm-up: functions of step
        loader = _loader(train_set, [p.indices for p in plan], config, device)
        sums = torch.zeros(4, dtype=torch.float64, device=device)  # per-body loss sums
        prior_sum = torch.zeros((), dtype=torch.float64, device=device)
        bar = tqdm(total=len(plan), desc=f"epoch {epoch}/{config.epochs}", leave=False,
                   disable=not (ctx.is_main and config.progress), dynamic_ncols=True)
        start = time.perf_counter()
        for p, batch in zip(plan, loader, strict=True):
            batch = batch.to(device, non_blocking=True)
            eps = torch.randn(p.global_size, z_dim, generator=noise)[p.start:p.stop]
            z_prior = None
            if config.prior_w > 0:
                z_prior = torch.randn(p.global_size, z_dim, generator=noise)[p.start:p.stop]
                z_prior = z_prior.to(device, non_blocking=True)
            with _autocast(config, device):
                logits, mu, logvar, prior_logits = step_module(
                    batch.features(use_sem), batch.vertices, eps.to(device, non_blocking=True),
                    z_prior)
            # losses in fp32 outside autocast, normalised by the GLOBAL batch (see losses.py)
            labels = batch.labels if use_sem else None
            terms = cvae_loss(logits, mu, logvar, batch.contact, labels,
                              kl_w=config.kl_weight(step), contact_w=config.contact_w,
                              semantics_w=config.semantics_w, batch_size=p.global_size,
                              kl_free_bits=config.kl_free_bits)
            loss = terms.total
            if prior_logits is not None:
                bce, ce = reconstruction_loss(prior_logits, batch.contact, labels,
                                              batch_size=p.global_size)
                prior_term = config.contact_w * bce + config.semantics_w * ce
                loss = loss + config.prior_w * prior_term
                prior_sum += prior_term.detach().double() * (0.0 if p.dummy else p.global_size)
            weight = 0.0 if p.dummy else float(ctx.world_size)  # DDP averages over ranks
            lr = config.learning_rate(step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            (loss * weight).backward()
            optimizer.step()
            step += 1
            sums += terms.detached() * (0.0 if p.dummy else p.global_size)
            bar.update(1)
            if bar.n % 10 == 1 and not bar.disable:
                bar.set_postfix(loss=f"{loss.item() * ctx.world_size:.4f}")
            if on_step_end is not None:
                on_step_end(epoch, step)
        bar.close()
        seconds = time.perf_counter() - start
        train_means = (ctx.all_reduce_sum(sums) / len(train_set)).tolist()
        if not math.isfinite(train_means[0]):  # nothing of this epoch is saved
            raise PosaError(f"training diverged: non-finite loss in epoch {epoch} (lower --lr, "
                            f"or resume from {out / 'last.pt'} with another setting)")

        # -- validation, log, checkpoints --------------------------------------------------
        row: dict[str, Any] = {"epoch": epoch, "step": step, "lr": lr,
                               "seconds": round(seconds, 3),
                               "bodies_per_s": round(len(train_set) / max(seconds, 1e-9), 1)}
        row.update(zip(("train_loss", "train_kl", "train_contact", "train_semantics"),
                       train_means, strict=True))
        if config.prior_w > 0:  # the hybrid term's reconstruction loss (unweighted)
            row["train_prior_recon"] = float(ctx.all_reduce_sum(prior_sum) / len(train_set))
        if test_set is not None:
            row.update(evaluate(model, test_set, config, ctx))
        history.append(row)
        metric = config.best_metric if test_set is not None else "train_loss"
        score = row[metric]
        improved = _is_better(score, best, higher=metric == "val_f1")
        if improved:
            best, best_epoch = score, epoch
        if ctx.is_main:
            _log_epoch(row, config)
            board.log(row, step)
            write_csv(out / "log.csv", history)
            extra = {"optimizer": optimizer.state_dict(), "rng": capture_rng_state(noise),
                     "epoch": epoch, "step": step, "best_score": best, "best_epoch": best_epoch,
                     "history": history,
                     "train_config": config.to_dict(), "world_size": ctx.world_size}
            meta = {"trained": True, "frame": config.frame, "dataset": str(config.data),
                    "epochs": epoch, "step": step, "frame_regressor": regressor_source,
                    "description": f"POSA cVAE trained by posa_model.train ({epoch} epochs)",
                    **{k: v for k, v in row.items() if k.startswith(("val_", "train_"))}}

            def save(path: Path, meta=meta, extra=extra) -> None:
                save_checkpoint(path, model, hierarchy.fingerprint, regressor, meta, extra,
                                hierarchy=embedded)

            save(out / "last.pt")  # first: epoch_XXX.pt existing implies last.pt is complete
            if improved:
                save(out / "best.pt")
            if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                save(out / "checkpoints" / f"epoch_{epoch:03d}.pt")
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    if ctx.is_main:
        board.close()
        write_csv(out / "log.csv", history)
        plot_curves(out / "curves.png", history)
    return TrainResult(out, out / "last.pt", out / "best.pt", history, model)


# ---------------------------------------------------------------------------------------------
# the run folder after a kill: one writer, no stale temporaries, best/epoch files repaired

#: Files of a run folder written through ``io_utils.atomic_write`` (their temporaries are
#: ``.<name>.<8 chars>.tmp``).
_RUN_FILES = re.compile(r"^\.(last\.pt|best\.pt|config\.yaml|config\.json|log\.csv|"
                        r"curves\.png|epoch_\d{3,}\.pt)\.[A-Za-z0-9_]{8}\.tmp$")
LOCK_NAME = ".posa_train.lock"


def _lock_run_folder(out: Path):
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


def _unlock(handle) -> None:
    if handle is not None:
        handle.close()  # closing releases the flock


def _remove_stale_temps(out: Path) -> list[Path]:
    """Remove the temporaries of our run files that a killed run left in ``out`` and
    ``out/checkpoints`` (safe: this process holds the run folder's lock)."""
    from .cli import clean_stale_temps

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


def _best_epoch_of(history: list[dict[str, Any]], best: float | None,
                   saved: TrainConfig) -> int | None:
    """The epoch whose score is ``best`` (checkpoints written before ``best_epoch`` existed)."""
    if best is None:
        return None
    for row in reversed(history):
        metric = saved.best_metric if saved.best_metric in row else "train_loss"
        if row.get(metric) == best:
            return int(row["epoch"])
    return None


def _holds_epoch(path: Path, epoch: int) -> bool:
    if not path.is_file():
        return False
    try:
        return read_checkpoint(path).extra.get("epoch") == epoch
    except PosaError:
        return False


def _copy_atomic(source: Path, target: Path) -> None:
    import shutil

    from .io_utils import atomic_write, open_regular_file
    from .nn.checkpoint import MAX_CHECKPOINT_BYTES

    with open_regular_file(source, "checkpoint", CheckpointError, MAX_CHECKPOINT_BYTES) as f:
        atomic_write(target, lambda out: shutil.copyfileobj(f, out))


def _repair_after_kill(out: Path, resume: str | Path, ckpt, saved: TrainConfig,
                       best_epoch: int | None) -> list[Path]:
    """Rewrite ``best.pt`` / the epoch file of the resumed epoch when a kill -9 after
    ``last.pt`` left them stale or missing: their content equals the resumed checkpoint."""
    epoch = int(ckpt.extra["epoch"])
    due = []
    if best_epoch == epoch:
        due.append(out / "best.pt")
    if epoch % saved.checkpoint_every == 0 or epoch == saved.epochs:
        due.append(out / "checkpoints" / f"epoch_{epoch:03d}.pt")
    repaired = []
    for target in due:
        if target.resolve() == Path(resume).resolve() or _holds_epoch(target, epoch):
            continue
        _copy_atomic(Path(resume), target)
        repaired.append(target)
        print(f"posa_model.train: rewrote {target} from {resume} (epoch {epoch}; the previous "
              "run was killed before writing it)", flush=True)
    return repaired


def _log_epoch(row: dict[str, Any], config: TrainConfig) -> None:
    text = (f"epoch {row['epoch']:3d}/{config.epochs} step {row['step']:6d} | train loss "
            f"{row['train_loss']:.4f} (kl {row['train_kl']:.4f} contact "
            f"{row['train_contact']:.4f} sem {row['train_semantics']:.4f})")
    if "val_loss" in row:
        text += (f" | val loss {row['val_loss']:.4f} F1 {row['val_f1']:.3f} P "
                 f"{row['val_precision']:.3f} R {row['val_recall']:.3f} sem_acc "
                 f"{row['val_semantic_acc']:.3f}")
    tqdm.write(text + f" | {row['bodies_per_s']:.0f} bodies/s", file=sys.stdout)
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# command line


def build_parser() -> argparse.ArgumentParser:
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


#: Files the trainer writes in its run folder (checked against the inputs before any work).
RUN_OUTPUTS = ("config.yaml", "log.csv", "last.pt", "best.pt", "curves.png")


def main(argv: list[str] | None = None, hierarchy: Any = None) -> int:
    """``python -m posa_model.train``; ``hierarchy`` overrides --hierarchy (programmatic use)."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run("posa_model.train", lambda: _run(args, hierarchy))


def _run(args: argparse.Namespace, hierarchy: Any) -> int:
    from . import cli
    from .synth.writer import is_synthetic_dataset

    base = None
    if args.resume is not None:
        saved = read_checkpoint(args.resume).extra.get("train_config")
        if not isinstance(saved, dict):
            raise CheckpointError(f"{args.resume}: has no trainer state; cannot resume it")
        base = TrainConfig.from_dict(saved, source=f"{args.resume} extra.train_config")
    config, given = config_from_args(args, base)
    if base is None and "remap_classes" not in given and is_synthetic_dataset(config.data):
        config = config.replace(remap_classes=False)
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"posa_model.train: {config.data} was written by posa_model.synthesize: "
                  "training with --no-remap-classes (its classes need no remap)", flush=True)
    out = Path(config.out_dir)
    cli.check_paths(
        inputs=[("--data", config.data), ("--hierarchy", config.hierarchy),
                ("--frame-regressor", config.frame_regressor), ("--config", args.config)],
        outputs=[("--out-dir", out / name) for name in RUN_OUTPUTS],
        output_dirs=[("--out-dir", out), ("--out-dir", out / "checkpoints")])
    result = train(config, hierarchy=hierarchy, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: {result.last} (best: {result.best})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
