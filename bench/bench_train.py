"""Training speed: bodies/s of full training steps (forward, fp32 loss, backward, Adam).

    python bench/bench_train.py [--device cpu|cuda|all] [--modes eager bf16 compile compile+bf16]
                                [--batches 64 128 256 512 1024 2048] [--max-step-seconds 20]
                                [--threads N] [--json out.json]

The step is the trainer's (``posa_model.train.NoisyPOSA`` + ``cvae_loss`` + Adam), on the
stand-in hierarchy (655/164/41 vertices at the network levels; if its asset is missing, a random
hierarchy of the same sizes, which costs the same) with the reference model and random data.
For each device and mode it reports the throughput at batch 64 and the best batch: batches are
tried in increasing order until throughput stops improving (< 3 % better), a step takes longer
than ``--max-step-seconds``, or memory runs out. Prints a markdown table; writes nothing unless
``--json`` is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from posa_model.data import make_features
from posa_model.nn.config import ModelConfig
from posa_model.nn.cvae import POSA
from posa_model.train import NoisyPOSA
from posa_model.training.losses import cvae_loss


def _hierarchy():
    try:
        from posa_model.assets import standin_hierarchy

        return standin_hierarchy(), "stand-in"
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to same-sized random
        print(f"(stand-in hierarchy unavailable: {exc}; using a random 655/164/41 one)")
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    counts = (655, 164, 41)
    spirals = [rng.integers(0, n, size=(n, 9)) for n in counts]
    down = [np.sort(rng.choice(counts[k], counts[k + 1], replace=False)) for k in range(2)]
    # network_level 2: levels 0 and 1 (10475, 2619 vertices) are never read by the model
    h = SimpleNamespace(spirals=[None, None, *spirals], down=[None, None, *down], seq_length=9,
                        dilation=1)
    return h, "random 655/164/41"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model: POSA, device: torch.device, batch: int, bf16: bool, step_module):
    """A closure running one training step on random data of ``batch`` bodies."""
    g = torch.Generator().manual_seed(batch)
    n = model.num_vertices
    contact = (torch.rand(batch, n, generator=g) < 0.2).float().to(device)
    labels = torch.where(contact > 0, torch.randint(1, 42, (batch, n), generator=g).to(device),
                         torch.zeros((), dtype=torch.long, device=device))
    vertices = torch.randn(batch, n, 3, generator=g).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    noise = torch.Generator().manual_seed(0)

    def step() -> None:
        eps = torch.randn(batch, model.config.z_dim, generator=noise).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, mu, logvar, _ = step_module(make_features(contact, labels), vertices, eps)
        loss = cvae_loss(logits, mu, logvar, contact, labels).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def time_step(step, device, min_seconds: float, min_runs: int = 3) -> float:
    """Median seconds per step after two warm-up steps (which include any compilation)."""
    for _ in range(2):
        step()
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(device: torch.device, mode: str, batches: list[int], hierarchy, args) -> dict:
    torch.manual_seed(0)
    model = POSA.from_hierarchy(ModelConfig(), hierarchy).to(device)
    step_module = NoisyPOSA(model)
    if "compile" in mode:
        step_module = torch.compile(step_module)
    bf16 = "bf16" in mode
    rows = []
    for batch in batches:
        try:
            t0 = time.perf_counter()
            seconds = time_step(make_step(model, device, batch, bf16, step_module), device,
                                args.min_seconds)
            total = time.perf_counter() - t0
        except torch.OutOfMemoryError:
            print(f"  {device} {mode} batch {batch}: out of memory")
            break
        rows.append({"batch": batch, "ms_per_step": seconds * 1e3,
                     "bodies_per_s": batch / seconds})
        print(f"  {device} {mode:13s} batch {batch:5d}: {seconds * 1e3:9.1f} ms/step, "
              f"{batch / seconds:9.1f} bodies/s  ({total:.0f} s incl. warm-up)", flush=True)
        if seconds > args.max_step_seconds:
            break
        if len(rows) > 1 and rows[-1]["bodies_per_s"] < 1.03 * max(
                r["bodies_per_s"] for r in rows[:-1]):
            break
        if device.type == "cuda":
            torch.cuda.empty_cache()
    best = max(rows, key=lambda r: r["bodies_per_s"]) if rows else None
    at64 = next((r for r in rows if r["batch"] == 64), None)
    return {"device": str(device), "mode": mode, "rows": rows, "at64": at64, "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", help="cpu, cuda or all (cuda when present)")
    parser.add_argument("--modes", nargs="+",
                        default=["eager", "bf16", "compile", "compile+bf16"])
    parser.add_argument("--batches", type=int, nargs="+",
                        default=[64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--min-seconds", type=float, default=2.0,
                        help="time at least this long per measurement (after warm-up)")
    parser.add_argument("--max-step-seconds", type=float, default=20.0,
                        help="stop growing the batch once a step takes longer than this")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [torch.device(d) for d in devices if d != "cuda" or torch.cuda.is_available()]
    hierarchy, name = _hierarchy()
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} CPU threads, hierarchy: {name}"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    results = [bench(d, m, sorted(args.batches), hierarchy, args)
               for d in devices for m in args.modes]
    print("\n| device | mode | batch 64: ms/step | batch 64: bodies/s | best batch | "
          "best bodies/s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        a, b = r["at64"], r["best"]
        print(f"| {r['device']} | {r['mode']} | "
              + (f"{a['ms_per_step']:,.1f} | {a['bodies_per_s']:,.1f}" if a else "- | -")
              + " | " + (f"{b['batch']} | {b['bodies_per_s']:,.1f} |" if b else "- | - |"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
