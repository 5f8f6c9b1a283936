"""Train the POSA cVAE on data in the reference format, in one readable loop.

    python -m posa_model.train --data DATA --out-dir runs/r1 [--epochs 15 --batch-size 64 ...]
    python -m posa_model.train --config run.yaml --epochs 2        # CLI overrides the file
    python -m posa_model.train --resume runs/r1/last.pt [--epochs 30]
    torchrun --nproc_per_node 2 -m posa_model.train --data DATA ...  # DDP (gloo CPU / NCCL)

Defaults are the reference contact+semantics recipe (:class:`TrainConfig`). A run folder R gets
``config.yaml`` (resolved settings), ``log.csv``, TensorBoard events (when installed),
``curves.png`` (when matplotlib is installed), ``last.pt`` every epoch, ``best.pt`` for the best
validation score and ``checkpoints/epoch_XXX.pt`` every ``checkpoint_every`` epochs, all in our
checkpoint format (:mod:`posa_model.nn.checkpoint`) and written atomically. One trainer at a time
writes a run folder, and ``--resume`` repairs what a kill -9 left (:mod:`.training.run_folder`).
Runs on a hierarchy other than the stand-in's embed it in every checkpoint (``--checkpoint`` then
needs no ``--hierarchy``). From the command line, data written by ``posa_model.synthesize`` (its
``COMPLETE`` marker) trains with ``--no-remap-classes`` unless ``--remap-classes`` is given.

Reproducibility: the model is initialised from ``seed``; epoch e shuffles with a permutation
seeded by (seed, e); the reparameterisation noise of each step is drawn for the whole global
batch from one seeded CPU ``torch.Generator`` and each DDP rank takes its slice. A checkpoint
holds the optimiser state, every RNG state, epoch, step, best score, history and the config
(:mod:`.training.state`), so ``--resume`` continues exactly where the last completed epoch ended.

Options beyond the reference recipe, all off by default: ``--kl-free-bits F`` (each body's KL
floored at F nats in the loss, against posterior collapse), ``--kl-warmup-steps N`` (kl_w rises
linearly over the first N optimiser steps), ``--weight-decay``, ``--lr-schedule cosine`` (lr
decays to ``lr_min_factor * lr`` over ``epochs``), ``--prior-w W`` (adds W times the
reconstruction loss of a second decoding from z ~ N(0, I): the hybrid cVAE objective of Sohn et
al. 2015, which trains the decoder on the latents that sampling uses; its noise is drawn after
the reparameterisation noise from the same generator). The warm-up and the schedule are functions
of the global step (and ``epochs``), so a resumed run follows them exactly; resume with the same
``--epochs`` to keep the cosine schedule unchanged.

The frame regressor stored in the checkpoints (``--frame-regressor``, else the stand-in's or the
dataset body's ``J_regressor`` rows, else an approximate one) is chosen by
:mod:`.training.frame_regressor`; ``meta["frame_regressor"]`` records which was used.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .assets import resolve_hierarchy
from .data import PosaDataset
from .errors import PosaError
from .evaluation.reconstruction import reconstruction_metrics as evaluate
from .mesh.hierarchy import MeshHierarchy
from .nn.checkpoint import Checkpoint, save_checkpoint
from .nn.cvae import POSA
from .training.config import TrainConfig, build_parser, config_from_args, save_config
from .training.distributed import DistContext, epoch_plan, setup_distributed
from .training.distributed import teardown_distributed as _teardown
from .training.frame_regressor import approximate_frame_regressor, frame_regressor_for
from .training.logging import TensorBoard, plot_curves, print_epoch, write_csv
from .training.rng import capture_rng_state, restore_rng_state, seed_everything
from .training.run_folder import (
    RUN_OUTPUTS,
    checkpoint_files,
    remove_stale_temps,
    repair_after_kill,
    unlock,
)
from .training.run_folder import lock_run_folder as _lock_run_folder
from .training.state import (
    RunState,
    read_trainer_checkpoint,
    resume_run,
    trainer_extra,
    trainer_meta,
)
from .training.step import NoisyPOSA, batch_loader, step_losses, step_module_for

__all__ = ["NoisyPOSA", "TrainConfig", "TrainResult", "approximate_frame_regressor",
           "capture_rng_state", "evaluate", "main", "restore_rng_state", "train"]


@dataclass
class TrainResult:
    """What :func:`train` produced (rank 0's paths; other ranks get the same values)."""

    out_dir: Path
    last: Path
    best: Path
    history: list[dict[str, Any]]
    model: POSA


def train(config: TrainConfig, hierarchy: Any = None,
          resume: str | Path | Checkpoint | None = None,
          on_step_end: Callable[[int, int], None] | None = None,
          on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainResult:
    """Run (or, with ``resume``, continue) training as described in the module docstring.

    Args:
        config: the run's settings.
        hierarchy: a mesh hierarchy object to use instead of ``config.hierarchy`` (e.g. one
            built in memory); None resolves ``config.hierarchy`` (None = the stand-in's).
        resume: a checkpoint written by this trainer (normally ``R/last.pt``), as a path or
            already read (:func:`posa_model.nn.checkpoint.read_checkpoint`).
        on_step_end(epoch, step), on_epoch_end(epoch, log_row): optional callbacks, every rank.
    """
    ctx = setup_distributed(config.device)
    locks: list = []  # the run folder's lock, taken by _train once the inputs are checked
    try:
        return _train(config, ctx, hierarchy, resume, on_step_end, on_epoch_end, locks)
    finally:
        for lock in locks:
            unlock(lock)
        _teardown(ctx)


def _train(config, ctx: DistContext, hierarchy, resume, on_step_end, on_epoch_end, locks):
    device, out = ctx.device, Path(config.out_dir)
    seed_everything(config.seed)

    # -- model, data, optimiser, and the state of a resumed run ----------------------------
    standin = hierarchy is None and config.hierarchy is None
    hierarchy = resolve_hierarchy(config.hierarchy) if hierarchy is None else hierarchy
    model_config = config.model_config(int(hierarchy.seq_length), int(hierarchy.dilation))
    model = POSA.from_hierarchy(model_config, hierarchy).to(device)
    train_set, test_set = _datasets(config, model.num_vertices)
    regressor, regressor_source = frame_regressor_for(config, hierarchy, standin)
    # the hierarchy travels with the weights unless it is the stand-in's (shipped anyway)
    embedded = None if standin or not isinstance(hierarchy, MeshHierarchy) else hierarchy
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    noise = torch.Generator().manual_seed(config.seed)  # reparameterisation noise, global batch
    state, resumed = RunState(), None
    if resume is not None:
        resumed = read_trainer_checkpoint(resume)  # (checkpoint, the config it was written with)
        state = resume_run(*resumed, config, hierarchy.fingerprint, model, optimizer, noise)
    step_module = step_module_for(model, config, ctx)

    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        locks.append(_lock_run_folder(out))
        remove_stale_temps(out)
        if resumed is not None:
            repair_after_kill(out, *resumed, state.best_epoch)
        save_config(out / "config.yaml", config)
        board = TensorBoard(out / "tensorboard")
        print(f"posa_model.train: {len(train_set)} train / "
              f"{len(test_set) if test_set else 0} test bodies, {model.num_vertices} vertices, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters, device {device}, "
              f"world size {ctx.world_size}, epochs {state.epoch + 1}..{config.epochs} -> {out}",
              flush=True)

    # -- epochs: train, validate, log, save -------------------------------------------------
    metric = config.best_metric if test_set is not None else "train_loss"
    for epoch in range(state.epoch + 1, config.epochs + 1):
        row = _train_epoch(epoch, step_module, model, optimizer, noise, train_set, config, ctx,
                           state, on_step_end)
        if test_set is not None:
            row.update(evaluate(model, test_set, config, ctx))
        improved = state.record(row, metric)
        if ctx.is_main:
            print_epoch(row, config.epochs)
            board.log(row, state.step)
            write_csv(out / "log.csv", state.history)
            extra = trainer_extra(state, optimizer, noise, config, ctx.world_size)
            meta = trainer_meta(state, config, row, regressor_source)
            for path in checkpoint_files(out, epoch, improved, config):
                save_checkpoint(path, model, hierarchy.fingerprint, regressor, meta, extra,
                                hierarchy=embedded)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    if ctx.is_main:
        board.close()
        write_csv(out / "log.csv", state.history)
        plot_curves(out / "curves.png", state.history)
    return TrainResult(out, out / "last.pt", out / "best.pt", state.history, model)


def _train_epoch(epoch: int, step_module, model: POSA, optimizer, noise: torch.Generator,
                 train_set: PosaDataset, config: TrainConfig, ctx: DistContext, state: RunState,
                 on_step_end) -> dict[str, Any]:
    """One pass over the training set (``state.step`` advances); returns the epoch's log row."""
    model.train()
    plan = epoch_plan(len(train_set), config.batch_size, config.seed, epoch, ctx.rank,
                      ctx.world_size)
    total_steps = config.epochs * len(plan)  # lr schedule / KL warm-up: functions of step
    loader = batch_loader(train_set, [p.indices for p in plan], config, ctx.device)
    sums = torch.zeros(4, dtype=torch.float64, device=ctx.device)  # per-body loss sums
    prior_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
    bar = tqdm(total=len(plan), desc=f"epoch {epoch}/{config.epochs}", leave=False,
               disable=not (ctx.is_main and config.progress), dynamic_ncols=True)
    lr, start = config.lr, time.perf_counter()
    for p, batch in zip(plan, loader, strict=True):
        batch = batch.to(ctx.device, non_blocking=True)
        terms, prior_term = step_losses(step_module, batch, p, noise, config, state.step)
        loss = terms.total if prior_term is None else terms.total + config.prior_w * prior_term
        bodies = 0.0 if p.dummy else p.global_size  # this rank's share of the epoch's sums
        if prior_term is not None:
            prior_sum += prior_term.detach().double() * bodies
        lr = config.learning_rate(state.step, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        (loss * (0.0 if p.dummy else float(ctx.world_size))).backward()  # DDP averages ranks
        optimizer.step()
        state.step += 1
        sums += terms.detached() * bodies
        bar.update(1)
        if bar.n % 10 == 1 and not bar.disable:
            bar.set_postfix(loss=f"{loss.item() * ctx.world_size:.4f}")
        if on_step_end is not None:
            on_step_end(epoch, state.step)
    bar.close()
    seconds = time.perf_counter() - start
    train_means = (ctx.all_reduce_sum(sums) / len(train_set)).tolist()
    if not math.isfinite(train_means[0]):  # nothing of this epoch is saved
        raise PosaError(f"training diverged: non-finite loss in epoch {epoch} (lower --lr, or "
                        f"resume from {Path(config.out_dir) / 'last.pt'} with another setting)")
    row: dict[str, Any] = {"epoch": epoch, "step": state.step, "lr": lr,
                           "seconds": round(seconds, 3),
                           "bodies_per_s": round(len(train_set) / max(seconds, 1e-9), 1)}
    row.update(zip(("train_loss", "train_kl", "train_contact", "train_semantics"),
                   train_means, strict=True))
    if config.prior_w > 0:  # the hybrid term's reconstruction loss (unweighted)
        row["train_prior_recon"] = float(ctx.all_reduce_sum(prior_sum) / len(train_set))
    return row


def _datasets(config: TrainConfig, num_vertices: int) -> tuple[PosaDataset, PosaDataset | None]:
    """The ``train`` split and the ``test`` split (None when the data has none)."""
    options = dict(num_vertices=num_vertices, contact_threshold=config.contact_threshold,
                   remap_classes=config.remap_classes, use_semantics=config.use_semantics,
                   check_values=config.check_data)
    test_dir = Path(config.data) / "test"
    return (PosaDataset(Path(config.data) / "train", **options),
            PosaDataset(test_dir, **options) if test_dir.is_dir() else None)


# ---------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None, hierarchy: Any = None) -> int:
    """``python -m posa_model.train``; ``hierarchy`` overrides --hierarchy (programmatic use)."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run("posa_model.train", lambda: _run(args, hierarchy))


def _run(args: argparse.Namespace, hierarchy: Any) -> int:
    from . import cli
    from .synth.writer import is_synthetic_dataset

    resume, base = None, None
    if args.resume is not None:  # read once: its config is the base, its state resumes
        resume, base = read_trainer_checkpoint(args.resume)
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
    result = train(config, hierarchy=hierarchy, resume=resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: {result.last} (best: {result.best})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
