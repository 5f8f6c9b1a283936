"""posa_model.evaluation and its CLI: the matching rule, its calibration extremes (oracle ~1,
random ~0), the CLI's JSON, determinism and the errors, on the stand-in hierarchy with a tiny
model (CPU)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from posa_model.assets import standin_hierarchy
from posa_model.classes import CLASS_ID, NUM_CLASSES
from posa_model.data import PosaDataset, write_reference_split
from posa_model.errors import CheckpointError, InputShapeError, PosaError, UnknownNameError
from posa_model.evaluate import main
from posa_model.evaluation import (
    archetype_of,
    evaluate_checkpoint,
    implied_requirements,
    match_samples,
    network_part_labels,
    prior_sample_metrics,
)
from posa_model.nn.checkpoint import build_model, read_checkpoint, save_checkpoint
from posa_model.nn.config import ModelConfig
from posa_model.nn.cvae import POSA
from posa_model.synth.archetypes import ARCHETYPES
from posa_model.synth.body import PART_NAMES
from posa_model.training.frame_regressor import approximate_frame_regressor
from tests.conftest import fake_hierarchy

TINY = ModelConfig(z_dim=16, h_dim=16, channels=8, num_groups=4)
META = {"trained": False, "description": "tiny test model", "epochs": 0}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def parts() -> np.ndarray:
    return network_part_labels(standin_hierarchy(), TINY.network_level)


def write_split(folder: Path, parts: np.ndarray, per_archetype: int = 2, seed: int = 0,
                names: list[str] | None = None) -> Path:
    """Stand-in bodies (655 vertices) labelled so that each satisfies its archetype: 30 % of
    every required group in contact with the spot's own class; two bodies named 'dance'."""
    rng = np.random.default_rng(seed)
    rest = standin_hierarchy().vertices[TINY.network_level]
    labels = [(name, k) for name in ARCHETYPES for k in range(per_archetype)]
    labels += [("dance", 0), ("dance", 1)]
    n, v = len(labels), len(rest)
    x = np.ones((n, v), np.float32)
    sem = rng.integers(1, NUM_CLASSES, size=(n, v))
    for i, (name, _) in enumerate(labels):
        reqs = implied_requirements(name) if name in ARCHETYPES else ()
        for req in reqs:
            group = np.flatnonzero(np.isin(parts, [PART_NAMES.index(p) for p in req.parts]))
            touch = rng.choice(group, size=math.ceil(0.3 * len(group)), replace=False)
            x[i, touch] = 0.01
            sem[i, touch] = req.exact[0]
        if not reqs:
            x[i, rng.choice(v, 40, replace=False)] = 0.0
    verts = rest[None] + rng.normal(scale=0.01, size=(n, v, 3))
    names = names or [f"room{i % 3}_{name}_{k}" for i, (name, k) in enumerate(labels)]
    return write_reference_split(folder, x, sem, verts, verts, recording_names=names)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, parts):
    root = tmp_path_factory.mktemp("evaluate")
    write_split(root / "data" / "test", parts)
    hierarchy = standin_hierarchy()
    torch.manual_seed(0)
    model = POSA.from_hierarchy(TINY, hierarchy)
    regressor = approximate_frame_regressor(hierarchy.vertices[0])
    ckpt = save_checkpoint(root / "tiny.pt", model, hierarchy.fingerprint, regressor, META)
    bad = save_checkpoint(root / "other_mesh.pt", model, "0" * 64, regressor, META)
    return SimpleNamespace(root=root, data=root / "data", ckpt=ckpt, bad=bad,
                           dataset=PosaDataset(root / "data" / "test", num_vertices=655))


# ---- decoders standing in for a model ------------------------------------------------------


class Decoder(nn.Module):
    """A "model" whose decoder is a function of the body (found by its first vertex)."""

    def __init__(self, dataset: PosaDataset, logits_of):
        super().__init__()
        self.config = SimpleNamespace(z_dim=TINY.z_dim, use_semantics=True)
        self.anchor = nn.Parameter(torch.zeros(1), requires_grad=False)
        batch = dataset.get_batch(np.arange(len(dataset)))
        self.first = batch.vertices[:, 0]
        self.logits = logits_of(batch)  # (N_bodies, V, 43)

    def decode_logits(self, z, vertices):
        body = torch.cdist(vertices[:, 0], self.first).argmin(dim=1)
        return self.logits[body]


def oracle_logits(batch):
    """The labels as logits: contact +-10, the label's class +10."""
    contact = (batch.contact * 20 - 10).unsqueeze(-1)
    classes = torch.nn.functional.one_hot(batch.labels, NUM_CLASSES).float() * 10
    return torch.cat((contact, classes), dim=-1)


def random_logits(batch):
    g = torch.Generator().manual_seed(1)
    return torch.randn((*batch.contact.shape, 1 + NUM_CLASSES), generator=g) * 3


def blanket_logits(batch):
    """Everything in contact with the floor: matches no archetype (rule c)."""
    out = torch.full((*batch.contact.shape, 1 + NUM_CLASSES), -10.0)
    out[..., 0] = 10.0
    out[..., 1 + CLASS_ID["floor"]] = 10.0
    return out


# ---- the rule ------------------------------------------------------------------------------


def test_archetype_names_and_requirements():
    assert archetype_of("living0000_sit_chair_12") == "sit_chair"
    assert archetype_of("room_stand_0") == "stand"
    assert archetype_of("MPH16_00157_01") == "other"
    assert archetype_of("room_stand") == "other"
    assert archetype_of("nounderscore") == "other"
    for name, archetype in ARCHETYPES.items():
        reqs = implied_requirements(name)
        assert [r.parts for r in reqs] == [tuple(p) for p, _ in archetype.contacts]
        assert all(set(r.exact) <= set(r.classes) for r in reqs)
    seat, feet = implied_requirements("sit_chair")
    assert set(seat.classes) >= {3, 10, 11, 18, 19} and seat.exact == (3,)
    assert feet.classes == (2,)
    assert implied_requirements("reach_counter")[0].classes == (26,)
    assert implied_requirements("lean_wall")[0].classes == (1,)
    assert implied_requirements("sit_table")[2].classes == (5,)
    with pytest.raises(UnknownNameError, match="unknown archetype"):
        implied_requirements("dance")


def test_rule_thresholds_exactly():
    parts = torch.full((100,), PART_NAMES.index("head"))
    parts[:40] = PART_NAMES.index("feet")  # 40 feet vertices: at least ceil(1.2) = 2 in contact
    stand = implied_requirements("stand")
    floor, wall = CLASS_ID["floor"], CLASS_ID["wall"]
    contact = torch.zeros(5, 100, dtype=torch.bool)
    classes = torch.full((5, 100), floor)
    contact[0, :1] = True  # 1 vertex: too few
    contact[1, :2] = True  # 2 vertices on the floor: match
    contact[2, :2] = True
    classes[2, 1] = wall  # half on the floor: still a match
    contact[3, :3] = True
    classes[3, 1:3] = wall  # a third on the floor: no match
    contact[4, :] = True  # feet on the floor but the whole body in contact: no match
    r = match_samples(contact, classes, parts, stand)
    assert r.match.tolist() == [False, True, True, False, False]
    assert r.enough[:, 0].tolist() == [False, True, True, True, True]
    assert r.blanket.tolist() == [False] * 4 + [True]
    # without semantics only the amount of contact counts
    assert match_samples(contact, None, parts, stand).match.tolist() == [False, True, True,
                                                                         True, False]


def test_part_labels_follow_the_skinning_and_need_smplx_or_a_file(parts):
    assert parts.shape == (655,)
    counts = np.bincount(parts, minlength=len(PART_NAMES))
    assert (counts > 20).all(), dict(zip(PART_NAMES, counts, strict=True))
    small = fake_hierarchy()
    with pytest.raises(InputShapeError, match="--part-labels"):
        network_part_labels(small, 0)
    given = np.arange(40) % len(PART_NAMES)
    assert network_part_labels(small, 1, given).tolist() == given[small.down[0]].tolist()
    with pytest.raises(InputShapeError, match="part labels"):
        network_part_labels(small, 0, np.full(40, 99))


# ---- calibration: oracle ~1, random ~0 -----------------------------------------------------


def test_oracle_decoder_matches_and_random_decoders_do_not(setup, parts):
    ds = setup.dataset
    oracle = prior_sample_metrics(Decoder(ds, oracle_logits), ds, parts, n_samples=4)
    assert oracle["match_rate"] == 1.0 and oracle["exact_match_rate"] == 1.0
    assert oracle["ground_truth_match_rate"] == 1.0
    assert oracle["bodies"] == 2 * len(ARCHETYPES) and oracle["other_bodies"] == 2
    assert oracle["archetypes"]["other"]["match_rate"] is None
    sit = oracle["archetypes"]["sit_chair"]
    assert list(sit["class_histogram"])[:2] in (["chair", "floor"], ["floor", "chair"])
    assert sit["part_contact_fraction"]["head"] == 0.0
    assert sit["mean_implied_contact_fraction"] == pytest.approx(0.3, abs=0.01)

    noise = prior_sample_metrics(Decoder(ds, random_logits), ds, parts, n_samples=4)
    blanket = prior_sample_metrics(Decoder(ds, blanket_logits), ds, parts, n_samples=4)
    model = build_model(read_checkpoint(setup.ckpt), standin_hierarchy())
    untrained = prior_sample_metrics(model, ds, parts, n_samples=8)
    rates = {"random": noise["match_rate"], "blanket": blanket["match_rate"],
             "untrained": untrained["match_rate"]}
    print(rates)
    assert rates["random"] <= 0.05 and rates["blanket"] == 0.0 and rates["untrained"] <= 0.1
    assert blanket["archetypes"]["stand"]["blanket_rate"] == 1.0
    assert noise["ground_truth_match_rate"] == 1.0  # the labels do not depend on the model


# ---- the command line ----------------------------------------------------------------------


def run(setup, out: Path, *extra: str) -> int:
    return main(["--checkpoint", str(setup.ckpt), "--data", str(setup.data), "--samples", "4",
                 "--device", "cpu", "--out", str(out), *extra])


def test_cli_writes_the_json_and_is_deterministic(setup, capsys):
    a, b, c = (setup.root / f"{k}.json" for k in "abc")
    assert run(setup, a, "--seed", "3") == 0
    table = capsys.readouterr().out
    assert "sit_chair" in table and "other" in table and "reconstruction" in table
    result = json.loads(a.read_text())
    assert {"format", "checkpoint", "checkpoint_meta", "data", "split", "bodies",
            "reconstruction", "prior", "hierarchy_fingerprint"} <= set(result)
    assert result["checkpoint_meta"] == META and result["data"] == str(setup.data)
    assert set(result["reconstruction"]) == {"loss", "kl", "contact", "semantics",
                                             "precision", "recall", "f1", "semantic_acc",
                                             "semantic_acc_with_void"}
    prior = result["prior"]
    assert prior["samples_per_body"] == 4 and prior["samples"] == 4 * 2 * len(ARCHETYPES)
    assert set(prior["archetypes"]) == set(ARCHETYPES) | {"other"}
    entry = prior["archetypes"]["reach_table"]
    assert {"bodies", "samples", "match_rate", "exact_match_rate", "ground_truth_match_rate",
            "mean_implied_contact_fraction", "part_contact_fraction", "class_histogram",
            "requirements"} <= set(entry)
    assert set(entry["part_contact_fraction"]) == set(PART_NAMES)
    assert entry["requirements"][0]["parts"] == ["hands"]
    assert prior["ground_truth_match_rate"] == 1.0
    # same seed, same numbers (batching does not matter); another seed, other samples
    assert run(setup, b, "--seed", "3", "--batch-size", "12") == 0
    assert json.loads(b.read_text())["prior"] == prior
    assert run(setup, c, "--seed", "4") == 0
    assert json.loads(c.read_text())["prior"]["archetypes"] != prior["archetypes"]


def test_bad_inputs_give_clear_errors(setup, parts, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["--checkpoint", str(tmp_path / "none.pt"), "--data", str(setup.data),
                 "--out", str(out)]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err
    assert main(["--checkpoint", str(setup.ckpt), "--data", str(tmp_path / "nodata"),
                 "--out", str(out)]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert run(setup, out, "--split", "train") == 2
    assert "no split folder 'train'" in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="trained on mesh hierarchy"):
        evaluate_checkpoint(setup.bad, setup.data, device="cpu")
    unnamed = tmp_path / "unnamed"
    write_split(unnamed / "test", parts, per_archetype=1,
                names=[f"scene{i}_rec{i}" for i in range(len(ARCHETYPES) + 2)])
    with pytest.raises(PosaError, match="no recording name names an archetype"):
        evaluate_checkpoint(setup.ckpt, unnamed, device="cpu", n_samples=1)
    with pytest.raises(SystemExit):
        run(setup, out, "--samples", "0")
    assert not out.exists()
