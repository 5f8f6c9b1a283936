"""The trainer: loss maths, config layering, run folder, overfitting, exact resume, DDP == 1 proc.

Everything runs on a tiny fake hierarchy (40/20/12 vertices at the network levels) and tiny
models, on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posa_model.data import PosaDataset, write_reference_split
from posa_model.errors import CheckpointError
from posa_model.frames import canonicalize
from posa_model.nn.checkpoint import build_model, read_checkpoint
from posa_model.nn.cvae import POSA
from posa_model.train import (
    NoisyPOSA,
    TrainConfig,
    approximate_frame_regressor,
    capture_rng_state,
    evaluate,
    main,
    restore_rng_state,
    train,
)
from posa_model.training.config import (
    ConfigError,
    add_config_arguments,
    config_from_args,
    load_config_file,
)
from posa_model.training.distributed import epoch_plan
from posa_model.training.losses import cvae_loss, reconstruction_loss
from posa_model.training.metrics import batch_counts, summarize
from tests.conftest import fake_hierarchy

ROOT = Path(__file__).resolve().parent.parent
V = 40  # fake_hierarchy()'s level 0, the network level used here
TINY = dict(z_dim=16, h_dim=16, channels=8, num_groups=4, network_level=0, progress=False)
TINY_ARGS = ["--z-dim", "16", "--h-dim", "16", "--channels", "8", "--num-groups", "4",
             "--network-level", "0", "--no-progress"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster and far steadier on one thread (two threads spin-wait when the
    2-core machine is shared); subprocesses below use one thread too, for bitwise equality."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_dataset(root: Path, n_train: int = 24, n_test: int = 8, seed: int = 0,
                  rest: np.ndarray | None = None) -> Path:
    """Bodies near ``rest`` (default: the fake hierarchy's level 0); contact on a per-body
    horizontal band; one class per body (including 34 and 25, which the reference remaps)."""
    rng = np.random.default_rng(seed)
    rest = fake_hierarchy().vertices[0] if rest is None else rest
    for split, n in (("train", n_train), ("test", n_test)):
        verts = (rest[None] + rng.normal(scale=0.05, size=(n, *rest.shape))).astype(np.float32)
        x = np.abs(verts[..., 1] - rng.uniform(-1, 1, size=(n, 1))) * 0.1
        sem = np.broadcast_to(rng.choice([2, 3, 34, 25], size=(n, 1)), x.shape).copy()
        names = [f"scene{i % 3}_rec{i}" for i in range(n)]
        write_reference_split(root / split, x, sem, verts, verts, recording_names=names)
    return root


def weights(path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path).state_dict


def max_weight_diff(a, b) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


# ---- losses ---------------------------------------------------------------------------------


def test_loss_equals_reference_formulas_and_shards_add_up():
    g = torch.Generator().manual_seed(0)
    b, n = 6, 7
    logits = torch.randn(b, n, 43, generator=g) * 3
    mu, logvar = torch.randn(b, 5, generator=g), torch.randn(b, 5, generator=g)
    contact = (torch.rand(b, n, generator=g) > 0.5).float()
    labels = torch.randint(0, 42, (b, n), generator=g)
    terms = cvae_loss(logits, mu, logvar, contact, labels, kl_w=0.1, contact_w=1, semantics_w=1)
    # the reference: BCE on the sigmoid, CE mean over all vertices, KL summed / batch
    bce = F.binary_cross_entropy(torch.sigmoid(logits[..., 0]), contact)
    ce = F.cross_entropy(logits[..., 1:].reshape(-1, 42), labels.reshape(-1))
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / b
    torch.testing.assert_close(terms.contact, bce)
    torch.testing.assert_close(terms.semantics, ce)
    torch.testing.assert_close(terms.kl, kl)
    torch.testing.assert_close(terms.total, 0.1 * kl + bce + ce)
    # bf16 logits are accepted (losses computed in fp32)
    assert cvae_loss(logits.bfloat16(), mu, logvar, contact, labels).total.dtype == torch.float32
    # two shards normalised by the global batch add up to the full-batch loss
    parts = [cvae_loss(logits[s], mu[s], logvar[s], contact[s], labels[s], batch_size=b)
             for s in (slice(0, 4), slice(4, 6))]
    torch.testing.assert_close(parts[0].total + parts[1].total, terms.total)


def test_kl_free_bits_floor_each_body_on_a_hand_computed_case():
    """KL of body 0 (mu (1, 0), logvar 0) = 0.5 nats, of body 1 (mu (2, 2)) = 4 nats. With a
    1-nat floor the loss uses (max(0.5, 1) + max(4, 1)) / 2 = 2.5; the reported KL stays
    (0.5 + 4) / 2 = 2.25; body 0 (under the floor) gets no KL gradient; shards still add up."""
    mu = torch.tensor([[1.0, 0.0], [2.0, 2.0]], requires_grad=True)
    logvar = torch.zeros(2, 2)
    logits = torch.zeros(2, 3, 43)
    contact = torch.zeros(2, 3)
    labels = torch.zeros(2, 3, dtype=torch.long)
    plain = cvae_loss(logits, mu, logvar, contact, labels, kl_w=0.1)
    floored = cvae_loss(logits, mu, logvar, contact, labels, kl_w=0.1, kl_free_bits=1.0)
    rest = plain.contact + plain.semantics
    assert plain.kl.item() == pytest.approx(2.25)
    assert floored.kl.item() == pytest.approx(2.25)
    assert floored.total.item() == pytest.approx(0.1 * 2.5 + rest.item(), rel=1e-6)
    assert plain.total.item() == pytest.approx(0.1 * 2.25 + rest.item(), rel=1e-6)
    (grad,) = torch.autograd.grad(floored.total, mu)
    assert grad[0].abs().max().item() == 0.0  # under the floor: free
    torch.testing.assert_close(grad[1], 0.1 * mu[1].detach() / 2)  # d/dmu (mu^2/2) / B
    parts = [cvae_loss(logits[k:k + 1], mu[k:k + 1], logvar[k:k + 1], contact[k:k + 1],
                       labels[k:k + 1], kl_w=0.1, batch_size=2, kl_free_bits=1.0)
             for k in (0, 1)]
    torch.testing.assert_close(parts[0].total + parts[1].total, floored.total)


def test_prior_term_decodes_the_prior_latents_in_the_same_decoder_call():
    """NoisyPOSA with z_prior returns the decoding of z_prior next to the posterior one, equal
    to separate decoder calls; reconstruction_loss is cvae_loss's contact and semantic terms."""
    hier = fake_hierarchy()
    config = TrainConfig(**TINY).model_config(int(hier.seq_length), int(hier.dilation))
    model = POSA.from_hierarchy(config, hier).eval()
    g = torch.Generator().manual_seed(1)
    verts = torch.as_tensor(hier.vertices[0], dtype=torch.float32)[None].repeat(3, 1, 1)
    verts = verts + 0.01 * torch.randn(verts.shape, generator=g)
    feats = torch.rand(3, V, 43, generator=g)
    eps, z_prior = torch.randn(3, 16, generator=g), torch.randn(3, 16, generator=g)
    with torch.no_grad():
        logits, mu, logvar, prior_logits = NoisyPOSA(model)(feats, verts, eps, z_prior)
        alone, _, _, none = NoisyPOSA(model)(feats, verts, eps)
        expected = model.decode_logits(z_prior, verts)
    assert none is None
    torch.testing.assert_close(logits, alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(prior_logits, expected, rtol=1e-5, atol=1e-5)
    contact = (torch.rand(3, V, generator=g) > 0.5).float()
    labels = torch.randint(0, 42, (3, V), generator=g)
    bce, ce = reconstruction_loss(prior_logits, contact, labels)
    terms = cvae_loss(prior_logits, mu, logvar, contact, labels)
    torch.testing.assert_close((bce, ce), (terms.contact, terms.semantics))


def test_semantic_accuracy_with_and_without_void_on_a_hand_computed_case():
    """Three labelled contact vertices (classes 2, 3, 5) and one non-contact vertex. Vertex 0:
    floor wins outright; vertex 1: void has the top logit, chair the top object logit; vertex 2:
    chair wins but the label is table. Void excluded: 2 of 3 right; void included: 1 of 3."""
    logits = torch.full((1, 4, 43), -5.0)
    logits[0, :, 0] = torch.tensor([3.0, 3.0, 3.0, -3.0])
    logits[0, 0, 1 + 2] = 4.0
    logits[0, 1, 1 + 0], logits[0, 1, 1 + 3] = 4.0, 2.0
    logits[0, 2, 1 + 3] = 4.0
    contact = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    labels = torch.tensor([[2, 3, 5, 0]])
    counts = batch_counts(logits, contact, labels, torch.zeros(4, dtype=torch.float64), 1)
    out = summarize(counts)
    assert out["val_semantic_acc"] == pytest.approx(2 / 3)
    assert out["val_semantic_acc_with_void"] == pytest.approx(1 / 3)
    assert out["val_f1"] == pytest.approx(1.0)


def test_kl_warmup_and_cosine_lr_are_functions_of_the_step():
    cfg = TrainConfig(kl_w=0.2, kl_warmup_steps=4, lr=1e-3, lr_schedule="cosine",
                      lr_min_factor=0.1)
    assert [cfg.kl_weight(s) for s in range(6)] == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.2,
                                                                  0.2])
    assert TrainConfig(kl_w=0.2).kl_weight(0) == 0.2  # off by default (reference)
    assert cfg.learning_rate(0, 11) == pytest.approx(1e-3)
    assert cfg.learning_rate(5, 11) == pytest.approx(0.55e-3)
    assert cfg.learning_rate(10, 11) == pytest.approx(1e-4)
    assert TrainConfig().learning_rate(7, 11) == 1e-3
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(ConfigError, match="kl_free_bits"):
        TrainConfig(kl_free_bits=-1.0)


@pytest.mark.slow
def test_resume_is_exact_with_free_bits_warmup_cosine_weight_decay_and_prior_term(tmp_path):
    """The run stops after epoch 1 (an exception in the callback) and is resumed: the weights
    equal those of an uninterrupted run with the same options."""
    data = write_dataset(tmp_path / "data")
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "full"), epochs=3, batch_size=8,
                      kl_free_bits=0.5, kl_warmup_steps=5, lr_schedule="cosine",
                      weight_decay=1e-4, prior_w=0.5, **TINY)
    full = train(cfg, hierarchy=fake_hierarchy())
    assert all(row["train_prior_recon"] > 0 for row in full.history)
    lrs = [row["lr"] for row in full.history]
    assert lrs[0] > lrs[1] > lrs[2] == pytest.approx(cfg.lr * cfg.lr_min_factor)

    class Stop(Exception):
        pass

    def stop(epoch, row):
        if epoch == 1:
            raise Stop

    cut = cfg.replace(out_dir=str(tmp_path / "cut"))
    with pytest.raises(Stop):
        train(cut, hierarchy=fake_hierarchy(), on_epoch_end=stop)
    resumed = train(cut, hierarchy=fake_hierarchy(), resume=tmp_path / "cut" / "last.pt")
    assert resumed.history[-1]["step"] == full.history[-1]["step"]
    assert max_weight_diff(weights(full.last), weights(resumed.last)) <= 1e-6
    # and the options change the result (they are applied)
    plain = train(cfg.replace(out_dir=str(tmp_path / "plain"), kl_free_bits=0.0,
                              kl_warmup_steps=0, lr_schedule="constant", weight_decay=0.0,
                              prior_w=0.0), hierarchy=fake_hierarchy())
    assert max_weight_diff(weights(full.last), weights(plain.last)) > 1e-4
    assert "train_prior_recon" not in plain.history[-1]


def test_epoch_plan_slices_the_global_batch_over_ranks():
    single = epoch_plan(17, 8, seed=3, epoch=2)
    ranks = [epoch_plan(17, 8, seed=3, epoch=2, rank=r, world_size=2) for r in (0, 1)]
    assert [len(p.indices) for p in single] == [8, 8, 1]
    for step, whole in enumerate(single):
        joined = np.concatenate([r[step].indices for r in ranks if not r[step].dummy])
        assert joined.tolist() == whole.indices.tolist()
    assert ranks[1][2].dummy and not ranks[0][2].dummy  # 1 body for 2 ranks
    assert epoch_plan(17, 8, 3, 1)[0].indices.tolist() != single[0].indices.tolist()


# ---- config ---------------------------------------------------------------------------------


def test_config_layers_defaults_file_cli_and_names_bad_settings(tmp_path):
    cfg = TrainConfig()
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.kl_w, cfg.contact_threshold,
            cfg.checkpoint_every) == (1e-3, 64, 15, 0.1, 0.05, 5)
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("epochs: 7\nlr: 0.01\nbatch-size: 32\nremap_classes: false\n")
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_config_arguments(parser)
    args = parser.parse_args(["--config", str(yaml_file), "--epochs", "2", "--hierarchy",
                              "none", "--bf16"])
    cfg, given = config_from_args(args)
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.remap_classes, cfg.bf16) == (
        2, 0.01, 32, False, True)
    assert cfg.hierarchy is None and cfg.kl_w == 0.1 and given["epochs"] == 2
    yaml_file.write_text("epochz: 3\n")
    with pytest.raises(ConfigError, match=r"run\.yaml.*'epochz'"):
        load_config_file(yaml_file)
    yaml_file.write_text("epochs: many\n")
    with pytest.raises(ConfigError, match=r"run\.yaml.*'epochs' must be a int"):
        load_config_file(yaml_file)
    with pytest.raises(ConfigError, match="frame"):
        TrainConfig(frame="world")
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)


# ---- a short run ----------------------------------------------------------------------------


def test_short_run_writes_a_complete_run_folder(tmp_path):
    data = write_dataset(tmp_path / "data")
    hier = fake_hierarchy()
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "run"), epochs=2, batch_size=8,
                      checkpoint_every=1, **TINY)
    result = train(cfg, hierarchy=hier)
    run = tmp_path / "run"
    for name in ("config.yaml", "log.csv", "last.pt", "best.pt", "checkpoints/epoch_001.pt",
                 "checkpoints/epoch_002.pt"):
        assert (run / name).is_file(), name
    pytest.importorskip("matplotlib")
    assert (run / "curves.png").stat().st_size > 1000
    assert TrainConfig.from_dict(load_config_file(run / "config.yaml")) == cfg
    rows = (run / "log.csv").read_text().splitlines()
    assert len(rows) == 3 and "val_f1" in rows[0] and "train_loss" in rows[0]
    ckpt = read_checkpoint(run / "last.pt")
    assert ckpt.trained and ckpt.meta["epochs"] == 2 and ckpt.meta["frame"] == "canonical"
    assert ckpt.meta["dataset"] == str(data) and 0 <= ckpt.meta["val_f1"] <= 1
    assert "approximate" in ckpt.meta["frame_regressor"]
    assert {"optimizer", "rng", "epoch", "step", "best_score", "train_config"} <= set(ckpt.extra)
    assert ckpt.extra["step"] == 2 * 3 and ckpt.extra["train_config"] == cfg.to_dict()
    model = build_model(ckpt, hier)  # our format, rebuildable for sampling
    for key, value in result.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert tuple(ckpt.frame_regressor.shape) == (4, V)
    # losses are finite and the validation metrics are all present
    last = result.history[-1]
    assert all(np.isfinite(last[k]) for k in ("train_loss", "val_loss", "val_f1"))


def test_cli_with_yaml_a_saved_hierarchy_and_a_frame_regressor(tmp_path, capsys):
    trimesh = pytest.importorskip("trimesh")
    from posa_model.mesh.build import build_hierarchy
    from posa_model.mesh.hierarchy import load_hierarchy, save_hierarchy

    sphere = trimesh.creation.icosphere(subdivisions=3)  # 642 -> 161 -> 41 -> 11 vertices
    hier = build_hierarchy(sphere.vertices, sphere.faces, levels=3)
    save_hierarchy(hier, tmp_path / "ico.npz")
    data = write_dataset(tmp_path / "data", n_train=6, n_test=3, rest=hier.vertices[1])
    regressor = np.full((4, 642), 1 / 642, np.float32)
    np.save(tmp_path / "reg.npy", regressor)
    (tmp_path / "run.yaml").write_text(
        f"data: {data}\nout_dir: {tmp_path / 'run'}\nnetwork_level: 1\nepochs: 5\n"
        "batch_size: 4\nz_dim: 16\nh_dim: 16\nchannels: 8\nnum_groups: 4\nprogress: false\n")
    argv = ["--config", str(tmp_path / "run.yaml"), "--epochs", "1", "--hierarchy",
            str(tmp_path / "ico.npz"), "--frame-regressor", str(tmp_path / "reg.npy"),
            "--frame", "reference"]
    assert main(argv) == 0
    assert "161 vertices" in capsys.readouterr().out
    ckpt = read_checkpoint(tmp_path / "run/last.pt")
    assert ckpt.extra["epoch"] == 1 and ckpt.meta["frame"] == "reference"
    assert ckpt.hierarchy_fingerprint == hier.fingerprint
    torch.testing.assert_close(ckpt.frame_regressor, torch.from_numpy(regressor))
    build_model(ckpt, load_hierarchy(tmp_path / "ico.npz"))
    # errors are reported, not raised: a wrong-shaped regressor names the file and the shape
    np.save(tmp_path / "reg.npy", regressor[:, :10])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "reg.npy" in err and "(4, 642)" in err


@pytest.mark.slow
@pytest.mark.parametrize("options", [dict(bf16=True), dict(use_semantics=False)])
def test_bf16_and_contact_only_runs(tmp_path, options):
    data = write_dataset(tmp_path / "data", n_train=8, n_test=4)
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "run"), epochs=1, batch_size=4,
                      **TINY, **options)
    row = train(cfg, hierarchy=fake_hierarchy()).history[-1]
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    if not cfg.use_semantics:
        assert row["train_semantics"] == 0 and np.isnan(row["val_semantic_acc"])
        assert read_checkpoint(tmp_path / "run/last.pt").config.feature_dim == 1


def test_approximate_frame_regressor_gives_the_identity_frame_at_rest():
    rng = np.random.default_rng(1)
    half = rng.normal(size=(150, 3)) * [0.3, 0.8, 0.15]  # a body-like blob, +y up, facing +z
    rest = np.concatenate([half, half * [-1, 1, 1]])  # left/right mirror images
    joints = (approximate_frame_regressor(rest).double().numpy() @ rest)
    frame = canonicalize(rest, joints)
    np.testing.assert_allclose(frame.rotation, np.eye(3), atol=1e-6)


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    import random

    noise = torch.Generator().manual_seed(5)
    torch.save(capture_rng_state(noise), tmp_path / "rng.pt")

    def draw():
        return (torch.rand(3).tolist(), torch.rand(3, generator=noise).tolist(),
                np.random.rand(3).tolist(), random.random())  # noqa: NPY002

    first = draw()
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True), noise)
    assert draw() == first


# ---- learning ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_overfits_one_batch(tmp_path):
    data = write_dataset(tmp_path / "data", n_train=8, n_test=1)
    cfg = TrainConfig(batch_size=8, lr=3e-3, z_dim=16, h_dim=32, channels=16, num_groups=4,
                      network_level=0)
    hier = fake_hierarchy()
    torch.manual_seed(0)
    model = POSA.from_hierarchy(cfg.model_config(), hier)
    ds = PosaDataset(data / "train", num_vertices=V)
    batch = ds.get_batch(np.arange(8))
    step, opt = NoisyPOSA(model), torch.optim.Adam(model.parameters(), lr=cfg.lr)
    noise = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(700):
        logits, mu, logvar, _ = step(batch.features(), batch.vertices,
                                     torch.randn(8, cfg.z_dim, generator=noise))
        terms = cvae_loss(logits, mu, logvar, batch.contact, batch.labels)
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        losses.append(terms.total.item())
    metrics = evaluate(model, ds, cfg)  # reconstruction with z = mu
    print(f"overfit: loss {losses[0]:.3f} -> {losses[-1]:.3f}, F1 {metrics['val_f1']:.3f}, "
          f"semantic acc {metrics['val_semantic_acc']:.3f}")
    assert losses[-1] < losses[0] / 10
    assert metrics["val_f1"] > 0.95 and metrics["val_semantic_acc"] > 0.9


# ---- subprocesses: kill -9 + resume, torchrun DDP ---------------------------------------------

DRIVER = """
import json, sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from tests.conftest import fake_hierarchy
from posa_model import train as T

if sys.argv[1] == "--json":  # train(config) with epochs >= 2 made slow, for the kill test
    slow = lambda epoch, step: time.sleep(0.4) if epoch >= 2 else None
    T.train(T.TrainConfig(**json.loads(sys.argv[2])), hierarchy=fake_hierarchy(),
            on_step_end=slow)
else:
    sys.exit(T.main(sys.argv[1:], hierarchy=fake_hierarchy()))
"""


def _driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER.format(root=str(ROOT)))
    return path


@pytest.mark.slow
def test_kill_9_then_resume_reaches_the_uninterrupted_weights(tmp_path):
    data = write_dataset(tmp_path / "data")
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "full"), epochs=3, batch_size=8,
                      checkpoint_every=1, **TINY)
    full = train(cfg, hierarchy=fake_hierarchy())

    run = tmp_path / "killed"
    killed_cfg = cfg.replace(out_dir=str(run))
    proc = subprocess.Popen([sys.executable, str(_driver(tmp_path)), "--json",
                             json.dumps(killed_cfg.to_dict())], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoints/epoch_001.pt").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no epoch-1 checkpoint after 60 s"
            time.sleep(0.02)
        time.sleep(0.5)  # now inside epoch 2 (each of its steps sleeps 0.4 s)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert read_checkpoint(run / "last.pt").extra["epoch"] == 1
    assert not (run / "checkpoints/epoch_002.pt").exists()

    # resume through the CLI; the saved config is the base, --no-progress only adds a setting
    assert main(["--resume", str(run / "last.pt"), "--no-progress"],
                hierarchy=fake_hierarchy()) == 0
    resumed = read_checkpoint(run / "last.pt")
    assert resumed.extra["epoch"] == 3 and resumed.extra["step"] == full.history[-1]["step"]
    diff = max_weight_diff(weights(full.last), resumed.state_dict)
    print(f"resume after kill -9: max |w_resumed - w_uninterrupted| = {diff:.3g}")
    assert diff <= 1e-6
    assert len((run / "log.csv").read_text().splitlines()) == 1 + 3
    for key in ("train_loss", "val_loss", "val_f1"):
        assert resumed.meta[key] == pytest.approx(full.history[-1][key], abs=1e-6)


def test_resume_refuses_changed_model_settings(tmp_path):
    data = write_dataset(tmp_path / "data", n_train=4, n_test=2)
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "r"), epochs=1, batch_size=4, **TINY)
    result = train(cfg, hierarchy=fake_hierarchy())
    with pytest.raises(ConfigError, match="batch_size"):
        train(cfg.replace(batch_size=2, epochs=2), hierarchy=fake_hierarchy(),
              resume=result.last)
    with pytest.raises(CheckpointError, match="hierarchy"):
        train(cfg.replace(epochs=2), hierarchy=fake_hierarchy(tag="other"), resume=result.last)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path):
    # 17 bodies, global batch 8: steps of 8, 8 and 1 body (rank 1 gets an empty slice there)
    data = write_dataset(tmp_path / "data", n_train=17, n_test=5)
    args = ["--data", str(data), "--epochs", "2", "--batch-size", "8", "--prior-w", "0.5",
            *TINY_ARGS]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node",
           "2", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(_driver(tmp_path)), *args, "--out-dir", str(tmp_path / "ddp")]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "world size 2" in out.stdout

    single = TrainConfig(data=str(data), out_dir=str(tmp_path / "one"), epochs=2, batch_size=8,
                         prior_w=0.5, **TINY)
    result = train(single, hierarchy=fake_hierarchy())
    ddp = read_checkpoint(tmp_path / "ddp/last.pt")
    diff = max_weight_diff(weights(result.last), ddp.state_dict)
    print(f"DDP 2 ranks vs 1 process: max weight difference {diff:.3g}")
    assert diff < 1e-5
    assert ddp.extra["world_size"] == 2 and ddp.extra["step"] == 2 * 3
    for key in ("train_loss", "train_prior_recon", "val_loss", "val_f1", "val_semantic_acc"):
        assert ddp.meta[key] == pytest.approx(result.history[-1][key], rel=1e-5, abs=1e-6)


# ---- the run folder after kill -9: best.pt and epoch files repaired, temporaries removed -------

KILL_AFTER_LAST = """
import json, os, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from tests.conftest import fake_hierarchy
from posa_model import train as T

real = T.save_checkpoint
def save(path, model, fingerprint, regressor, meta=None, extra=None, **kw):
    # kill -9 right after last.pt of epoch 2: best.pt / epoch_002.pt are not written
    if Path(path).name != "last.pt" and extra["epoch"] == 2:
        os.kill(os.getpid(), 9)
    return real(path, model, fingerprint, regressor, meta, extra, **kw)
T.save_checkpoint = save
T.train(T.TrainConfig(**json.loads(sys.argv[1])), hierarchy=fake_hierarchy())
"""


@pytest.mark.slow
def test_kill_after_last_pt_then_resume_rewrites_best_and_epoch_files(tmp_path):
    data = write_dataset(tmp_path / "data")
    import shutil

    shutil.rmtree(data / "test")  # no test split: best = lowest train loss (falls each epoch)
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "full"), epochs=3, batch_size=8,
                      checkpoint_every=1, **TINY)
    full = train(cfg, hierarchy=fake_hierarchy())
    assert read_checkpoint(full.best).extra["epoch"] == 3  # epoch 2 was the best when it ended
    assert read_checkpoint(tmp_path / "full/checkpoints/epoch_002.pt").extra["best_epoch"] == 2

    run = tmp_path / "killed"
    driver = tmp_path / "kill_after_last.py"
    driver.write_text(KILL_AFTER_LAST.format(root=str(ROOT)))
    proc = subprocess.run([sys.executable, str(driver),
                           json.dumps(cfg.replace(out_dir=str(run)).to_dict())],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert read_checkpoint(run / "last.pt").extra["epoch"] == 2
    assert read_checkpoint(run / "best.pt").extra["epoch"] == 1  # stale: the kill's damage
    assert not (run / "checkpoints/epoch_002.pt").exists()
    # what other killed writes leave: hidden temporaries of our files (and one that is not ours)
    stale = [run / ".last.pt.a1B2c3D4.tmp", run / "checkpoints" / ".epoch_002.pt.x9Y8z7W6.tmp"]
    for path in stale:
        path.write_bytes(b"partial")
    (run / ".notes.tmp").write_text("not ours")

    # resuming at the final epoch (nothing left to train) still repairs the run folder
    assert main(["--resume", str(run / "last.pt"), "--epochs", "2", "--no-progress"],
                hierarchy=fake_hierarchy()) == 0
    assert read_checkpoint(run / "best.pt").extra["epoch"] == 2
    assert read_checkpoint(run / "checkpoints/epoch_002.pt").extra["epoch"] == 2
    assert (run / "best.pt").read_bytes() == (run / "last.pt").read_bytes()
    assert not any(p.exists() for p in stale) and (run / ".notes.tmp").exists()
    # and the resumed run ends where the uninterrupted one did, file for file
    assert main(["--resume", str(run / "last.pt"), "--epochs", "3", "--no-progress"],
                hierarchy=fake_hierarchy()) == 0
    for name in ("last.pt", "best.pt", "checkpoints/epoch_001.pt", "checkpoints/epoch_002.pt",
                 "checkpoints/epoch_003.pt"):
        a, b = read_checkpoint(tmp_path / "full" / name), read_checkpoint(run / name)
        assert a.extra["epoch"] == b.extra["epoch"], name
        assert max_weight_diff(a.state_dict, b.state_dict) <= 1e-6, name


def test_one_trainer_per_run_folder_and_inputs_are_never_outputs(tmp_path, capsys):
    from posa_model.train import _lock_run_folder

    data = write_dataset(tmp_path / "data", n_train=4, n_test=2)
    run = tmp_path / "run"
    run.mkdir()
    base = ["--data", str(data), "--epochs", "1", "--batch-size", "4", *TINY_ARGS]
    lock = _lock_run_folder(run)
    try:
        assert main([*base, "--out-dir", str(run)], hierarchy=fake_hierarchy()) == 2
        assert "another posa_model.train" in capsys.readouterr().err
    finally:
        lock.close()
    # a settings file that the run would overwrite with the resolved config
    (run / "config.yaml").write_text("epochs: 1\n")
    assert main([*base, "--config", str(run / "config.yaml"), "--out-dir", str(run)],
                hierarchy=fake_hierarchy()) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert (run / "config.yaml").read_text() == "epochs: 1\n"
    # a run folder inside the data; a run folder that is a file; bad device and seed
    assert main([*base, "--out-dir", str(data / "run")], hierarchy=fake_hierarchy()) == 2
    assert "inside the input folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main([*base, "--out-dir", str(tmp_path / "file")], hierarchy=fake_hierarchy()) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main([*base, "--out-dir", str(run), "--device", "meta"],
                hierarchy=fake_hierarchy()) == 2
    assert "device" in capsys.readouterr().err
    assert main([*base, "--out-dir", str(run), "--seed", str(2**70)],
                hierarchy=fake_hierarchy()) == 2
    assert "seed" in capsys.readouterr().err
    assert not (run / "last.pt").exists()


@pytest.mark.slow
def test_synthetic_data_trains_without_the_class_remap_by_default(tmp_path, capsys):
    from posa_model.synth.writer import MARKER, MARKER_TEXT

    data = write_dataset(tmp_path / "data", n_train=4, n_test=2)
    base = ["--data", str(data), "--epochs", "1", "--batch-size", "4", *TINY_ARGS]
    assert main([*base, "--out-dir", str(tmp_path / "a")], hierarchy=fake_hierarchy()) == 0
    assert load_config_file(tmp_path / "a/config.yaml")["remap_classes"] is True
    (data / MARKER).write_text(MARKER_TEXT)  # now it is a posa_model.synthesize dataset
    assert main([*base, "--out-dir", str(tmp_path / "b")], hierarchy=fake_hierarchy()) == 0
    assert "--no-remap-classes" in capsys.readouterr().out
    assert load_config_file(tmp_path / "b/config.yaml")["remap_classes"] is False
    assert main([*base, "--out-dir", str(tmp_path / "c"), "--remap-classes"],
                hierarchy=fake_hierarchy()) == 0
    assert load_config_file(tmp_path / "c/config.yaml")["remap_classes"] is True


def test_a_run_on_its_own_hierarchy_carries_it(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    from posa_model.mesh.build import build_hierarchy
    from posa_model.sample import load_sampler

    sphere = trimesh.creation.icosphere(subdivisions=3)  # 642 -> 161 -> 41 -> 11 vertices
    hier = build_hierarchy(sphere.vertices, sphere.faces, levels=3)
    data = write_dataset(tmp_path / "data", n_train=4, n_test=2, rest=hier.vertices[1])
    cfg = TrainConfig(data=str(data), out_dir=str(tmp_path / "run"), epochs=1, batch_size=4,
                      **{**TINY, "network_level": 1})
    result = train(cfg, hierarchy=hier)
    ckpt = read_checkpoint(result.last)
    assert ckpt.hierarchy is not None and ckpt.hierarchy.fingerprint == hier.fingerprint
    sampler = load_sampler(result.last, device="cpu")  # no --hierarchy needed
    sampler.check_body(np.asarray(sphere.faces), "icosphere", num_vertices=642)
    assert sampler.sample(hier.vertices[0][None], n_samples=2).contact.shape == (1, 2, 642)
