"""Sampling speed: maps/s over batch sizes and the latency of one map, eager fp32.

    python bench/bench_sample.py [--device cpu|cuda|all] [--batches 1 16 64 256 1024]

Reports, per device: decoder-only maps/s at the network's resolution (655 vertices), full
pipeline maps/s (canonicalise + decode + up-sample to 10475 vertices) and the end-to-end
latency of ``sampler.sample(one body, n_samples=1)``. Record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from posa_model import load_sampler
from posa_model.body import load_body_model, pose_body


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device, min_seconds=0.5, min_runs=3) -> float:
    """Median seconds per call after a warm-up."""
    fn()
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_device(device: str, batches: list[int], vertices) -> dict:
    sampler = load_sampler(device=device)
    dev = sampler.device
    body = torch.as_tensor(vertices, device=dev)[None]
    canon = sampler.canonical_vertices(body)
    z_dim = sampler.model.config.z_dim
    rows = []
    for batch in batches:
        z = torch.randn(batch, z_dim, device=dev)
        canon_b = canon.expand(batch, -1, -1)

        @torch.inference_mode()
        def decode(z=z, canon_b=canon_b):
            return sampler.model.decode_logits(z, canon_b)

        def full(batch=batch):
            return sampler.sample_tensors(body, n_samples=batch, seed=0)

        t_decode, t_full = _time(decode, dev), _time(full, dev)
        rows.append({"batch": batch, "decode_maps_per_s": batch / t_decode,
                     "full_maps_per_s": batch / t_full})
    one_map = _time(lambda: sampler.sample(body, n_samples=1, seed=0), dev, min_seconds=1.0)
    return {"device": str(dev), "rows": rows, "one_map_ms": one_map * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", help="cpu, cuda or all (cuda when present)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256, 1024])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d != "cuda" or torch.cuda.is_available()]
    vertices = pose_body(load_body_model(), "sit").vertices[0]
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads")
    results = []
    for device in devices:
        res = bench_device(device, args.batches, vertices)
        results.append(res)
        print(f"\n## {res['device']}  (one map end to end: {res['one_map_ms']:.2f} ms)")
        print("| batch | decoder maps/s (655 v) | full maps/s (10475 v) |")
        print("|---:|---:|---:|")
        for row in res["rows"]:
            print(f"| {row['batch']} | {row['decode_maps_per_s']:,.0f} | "
                  f"{row['full_maps_per_s']:,.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
