"""Sampling egocentric feature maps: which body vertices touch the scene, and what they touch.

    >>> from posa_model import load_sampler
    >>> sampler = load_sampler()                      # the shipped checkpoint, on the stand-in
    >>> out = sampler.sample(vertices, n_samples=4, seed=0)   # vertices (B, 10475, 3)
    >>> out.contact.shape, out.semantics.shape        # (B, 4, 10475) each

Pipeline (all batched, on one device): full-resolution posed vertices in the body's world frame
(SMPL-X y-up, metres) -> the canonical frame (:mod:`posa_model.frames`) -> down-sampled with the
hierarchy's vertex selections to the network level (655 vertices) -> z ~ N(0, I) from a seeded
generator -> decoder -> contact probability and class logits up-sampled with the barycentric U
matrices back to every vertex -> contact (probability) and semantics (class id, 0 where the
probability is <= threshold).

Command line: ``python -m posa_model.sample --body standin --pose sit --n 2 --seed 0 --out x.ply``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from .assets import DEFAULT_CHECKPOINT_PATH, resolve_hierarchy
from .classes import MPCAT40_NAMES, NUM_CLASSES
from .device import resolve_device
from .errors import InputShapeError, PosaError
from .mesh.levels import level_indices
from .nn.checkpoint import Checkpoint, build_model, read_checkpoint
from .nn.cvae import POSA

Frame = Literal["canonical", "reference"]
#: Rotation by pi about x: the fixed rotation the reference applies after removing the pelvis.
REFERENCE_FRAME_ROTATION = torch.diag(torch.tensor([1.0, -1.0, -1.0]))


@dataclass
class ContactSamples:
    """Sampled feature maps for B bodies x n samples, at full resolution (V vertices).

    contact: (B, n, V) float32 contact probability in [0, 1].
    semantics: (B, n, V) int64 MPCAT40 class id of the touched surface; 0 where contact <= the
        threshold. At contact vertices it is the most likely class among 1..41.
    semantic_probs: (B, n, V, 42) float32 class probabilities, when asked for.
    threshold: the contact threshold used (0.5 as in the reference).
    """

    contact: np.ndarray
    semantics: np.ndarray
    semantic_probs: np.ndarray | None = None
    threshold: float = 0.5

    def classes_in_contact(self, body: int = 0, sample: int = 0) -> dict[str, int]:
        """{class name: number of vertices} for one body and sample, most vertices first."""
        ids, counts = np.unique(self.semantics[body, sample], return_counts=True)
        pairs = [(MPCAT40_NAMES[i], int(c)) for i, c in zip(ids, counts, strict=True) if i != 0]
        return dict(sorted(pairs, key=lambda p: -p[1]))


#: Most maps :meth:`Sampler.sample_tensors` decodes in one call is bounded by the memory of its
#: full-resolution output: B * n * V * (1 + 42) float32 values at most this many bytes.
MAX_DECODE_BYTES = 4 << 30
#: Seeds are int64 (torch.Generator.manual_seed) and non-negative.
MAX_SEED = 2**63 - 1


class Sampler:
    """A loaded POSA model with its mesh hierarchy and canonical frame, ready to sample.

    Build it with :func:`load_sampler`: our checkpoints, including reference POSA weights
    converted once by ``python -m posa_model.convert --reference last_model.pt --mesh-ds
    mesh_ds/ --body SMPLX_NEUTRAL.npz --out posa_smplx.pt`` (a checkpoint that carries its
    hierarchy and ``frame="reference"``). Before sampling a body from a file, check that it is
    the checkpoint's mesh with :meth:`check_body`.
    """

    def __init__(self, model: POSA, hierarchy, frame_regressor: torch.Tensor,
                 device: torch.device, frame: Frame = "canonical",
                 checkpoint: Checkpoint | None = None):
        self.device = device
        self.model = model.to(device).eval()
        self.hierarchy = hierarchy
        self.frame: Frame = frame
        self.checkpoint = checkpoint
        self.num_vertices = int(hierarchy.vertices[0].shape[0])
        self.level = model.config.network_level
        if frame_regressor.shape != (4, self.num_vertices):
            raise InputShapeError(
                f"frame_regressor must be (4, {self.num_vertices}), got "
                f"{tuple(frame_regressor.shape)}"
            )
        self._regressor = frame_regressor.to(device, torch.float32)
        def tensor(array, dtype):  # copies: hierarchy arrays may be read-only
            return torch.tensor(np.asarray(array), dtype=dtype, device=device)

        self._select = tensor(level_indices(hierarchy, self.level), torch.long)
        self._up = [(tensor(hierarchy.up_index[k], torch.long),
                     tensor(hierarchy.up_weight[k], torch.float32)) for k in range(self.level)]

    @property
    def trained(self) -> bool:
        return self.checkpoint is None or self.checkpoint.trained

    def check_body(self, faces: np.ndarray, source: str = "body",
                   num_vertices: int | None = None) -> None:
        """Refuse a body that is not this checkpoint's mesh (see
        :func:`posa_model.nn.mesh_check.check_body_mesh`).

        Args:
            faces: (F, 3) int triangles of the body; num_vertices: its vertex count V.
            source: what the body is, for the message ("--body SMPLX_NEUTRAL.npz").

        Raises:
            BodyMeshMismatch (a CheckpointError): another topology or vertex order; the
                message says which checkpoint fits which body and how to get one.
        """
        from .nn.mesh_check import check_body_mesh

        check_body_mesh(faces, self.hierarchy, source, num_vertices=num_vertices,
                        checkpoint=self.checkpoint)

    def _validate(self, vertices: np.ndarray | torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(vertices):
            vertices = np.asarray(vertices)
            if not vertices.flags.writeable:  # torch warns on read-only arrays; copy them
                vertices = vertices.copy()
        v = torch.as_tensor(vertices)
        if v.ndim == 2:
            v = v.unsqueeze(0)
        if v.ndim != 3 or v.shape[-1] != 3:
            raise InputShapeError(f"vertices must be (B, V, 3) or (V, 3), got {tuple(v.shape)}")
        if v.shape[1] != self.num_vertices:
            raise InputShapeError(
                f"the body has {v.shape[1]} vertices, but this model's mesh has "
                f"{self.num_vertices}: it only samples bodies with the topology it was trained on"
            )
        if not v.is_floating_point() or not torch.isfinite(v).all():
            raise InputShapeError("vertices must be finite floating-point coordinates (metres)")
        return v.to(self.device, torch.float32)

    def canonical_vertices(self, vertices: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(B, V, 3) world-frame vertices -> (B, N, 3) canonical vertices at the network level."""
        from .frames import canonicalize

        v = self._validate(vertices)
        joints = torch.einsum("jv,bvc->bjc", self._regressor, v)  # pelvis, l_hip, r_hip, spine3
        if self.frame == "reference":
            canon = (v - joints[:, :1]) @ REFERENCE_FRAME_ROTATION.to(v.device).T
        else:
            canon = canonicalize(v, joints).vertices
        return canon.index_select(1, self._select)

    def upsample(self, values: torch.Tensor) -> torch.Tensor:
        """(M, N, C) values at the network level -> (M, V, C) at full resolution (barycentric)."""
        for index, weight in reversed(self._up):
            values = (values[:, index] * weight.unsqueeze(-1)).sum(dim=2)
        return values

    @torch.inference_mode()
    def sample_tensors(self, vertices: np.ndarray | torch.Tensor, n_samples: int = 1,
                       seed: int | Sequence[int] = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode on the sampler's device; returns full-resolution (contact (B, n, V),
        class logits (B, n, V, 42)) tensors. Same seed, same result. ``seed`` may be one seed
        per body: body ``b``'s maps are then exactly those of sampling it alone with
        ``seed[b]`` (many bodies decoded in one batch, each reproducible on its own)."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise InputShapeError(f"n_samples must be a positive int, got {n_samples!r}")
        seeds = list(seed) if isinstance(seed, Sequence | np.ndarray) else [seed]
        for one in seeds:
            if isinstance(one, bool) or not isinstance(one, int | np.integer) or not (
                    0 <= int(one) <= MAX_SEED):
                raise InputShapeError(f"seed must be an int in 0..2**63-1, got {str(one)[:40]}")
        canon = self.canonical_vertices(vertices)
        batch = canon.shape[0]
        channels = self.model.config.feature_dim
        needed = batch * n_samples * self.num_vertices * channels * 4
        if needed > MAX_DECODE_BYTES:
            raise InputShapeError(
                f"{batch} bodies x {n_samples} samples x {self.num_vertices} vertices x "
                f"{channels} channels need {needed / 2**30:.1f} GiB, more than the limit of "
                f"{MAX_DECODE_BYTES / 2**30:.0f} GiB: sample fewer at a time"
            )
        z_dim = self.model.config.z_dim
        if len(seeds) == 1:
            generator = torch.Generator(device="cpu").manual_seed(int(seeds[0]))
            z = torch.randn((batch, n_samples, z_dim), generator=generator)
        elif len(seeds) == batch:
            z = torch.cat([torch.randn((1, n_samples, z_dim), generator=torch.Generator(
                device="cpu").manual_seed(int(one))) for one in seeds])
        else:
            raise InputShapeError(f"seed: expected one seed or one per body ({batch}), found "
                                  f"{len(seeds)}")
        z = z.reshape(batch * n_samples, -1).to(self.device)
        canon = canon.repeat_interleave(n_samples, dim=0)
        logits = self.model.decode_logits(z, canon)
        values = torch.cat((torch.sigmoid(logits[..., :1]), logits[..., 1:]), dim=-1)
        full = self.upsample(values).reshape(batch, n_samples, self.num_vertices, -1)
        return full[..., 0], full[..., 1:]

    def sample(self, vertices: np.ndarray | torch.Tensor, n_samples: int = 1,
               seed: int | Sequence[int] = 0,
               return_semantic_probs: bool = False, threshold: float = 0.5) -> ContactSamples:
        """Sample ``n_samples`` feature maps for each body.

        Args:
            vertices: (B, V, 3) or (V, 3) posed full-resolution vertices in the body's world
                frame (SMPL-X convention: y up, metres). Any position and heading.
            n_samples: maps per body. seed: the same seed gives the same maps; one seed per
                body samples each body as if alone (see :meth:`sample_tensors`).
            return_semantic_probs: also return (B, n, V, 42) class probabilities.
            threshold: contact probability above which a vertex is in contact.
        """
        contact, class_logits = self.sample_tensors(vertices, n_samples, seed)
        semantics = torch.zeros(contact.shape, dtype=torch.long, device=contact.device)
        if class_logits.shape[-1] == NUM_CLASSES:
            best = class_logits[..., 1:].argmax(dim=-1) + 1
            semantics = torch.where(contact > threshold, best, semantics)
        probs = None
        if return_semantic_probs and class_logits.shape[-1] == NUM_CLASSES:
            probs = torch.softmax(class_logits, dim=-1).cpu().numpy()
        return ContactSamples(
            contact=contact.cpu().numpy().astype(np.float32),
            semantics=semantics.cpu().numpy(),
            semantic_probs=probs,
            threshold=threshold,
        )


def load_sampler(checkpoint: str | os.PathLike | None = None, device: str = "auto",
                 hierarchy=None) -> Sampler:
    """Load a sampler from one of our checkpoints.

    Args:
        checkpoint: path, or None for the checkpoint shipped with the package (trained on the
            stand-in body; ``sampler.trained`` says whether it is a trained one). Converted
            reference weights (``python -m posa_model.convert``) are checkpoints like any other.
        device: "auto" (CUDA when available), "cpu" or "cuda[:N]".
        hierarchy: the mesh hierarchy the checkpoint was trained with: a MeshHierarchy, a
            saved-hierarchy ``.npz`` or a reference ``mesh_ds`` folder. None: the hierarchy the
            checkpoint carries (converted reference weights, runs trained with
            ``--hierarchy``), else the stand-in's. A hierarchy whose fingerprint differs from
            the checkpoint's is refused.
    """
    ckpt = read_checkpoint(DEFAULT_CHECKPOINT_PATH if checkpoint is None else checkpoint)
    if hierarchy is None and ckpt.hierarchy is not None:
        hier = ckpt.hierarchy
    else:
        hier = resolve_hierarchy(hierarchy)
    model = build_model(ckpt, hier)
    frame = ckpt.meta.get("frame", "canonical")
    if frame not in ("canonical", "reference"):
        raise PosaError(f"{ckpt.path}: meta.frame must be 'canonical' or 'reference': {frame!r}")
    return Sampler(model, hier, ckpt.frame_regressor, resolve_device(device), frame, ckpt)


def _pose_body(body: str, pose: str, frame: int, allow_pickle: bool = False):
    """Vertices (V, 3) and faces (F, 3) of --body posed by --pose (a preset name, or the
    ``frame``-th body of a pose file)."""
    from .body import BodyPose, load_body_model, pose_body

    model = load_body_model(None if body == "standin" else body, allow_pickle=allow_pickle)
    if pose.lower().endswith((".npz", ".pkl")):
        poses = BodyPose.from_file(pose, frame=frame, allow_pickle=allow_pickle)
        chosen = poses.take([0])
    else:
        chosen = BodyPose.from_preset(pose)
    vertices = pose_body(model, chosen.with_betas(model.num_betas)).vertices[0]
    return vertices, model.faces


#: Most samples the command line decodes (each is a full-resolution map in the output file).
MAX_CLI_SAMPLES = 64


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m posa_model.sample`` argument parser (its --help lists the presets)."""
    from . import cli
    from .body import PRESET_DESCRIPTIONS, preset_names

    presets = "\n".join(f"  {name:14s} {PRESET_DESCRIPTIONS.get(name, '')}"
                         for name in preset_names())
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.sample",
        description="Sample where a posed body touches the scene and what it touches (POSA).",
        epilog=f"pose presets (--pose NAME; default: sit):\n{presets}\n\nThe body must be "
               "the checkpoint's mesh: the stand-in for the shipped checkpoint, real SMPL-X "
               "for converted reference weights (python -m posa_model.convert).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--body", default="standin",
                        help="'standin' (default) or a path to an SMPL-X model file/folder")
    parser.add_argument("--pose", default="sit",
                        help="a preset name (default: sit; listed below) or a pose .npz file")
    parser.add_argument("--frame", type=cli.int_range(0, 10**9), default=0,
                        help="frame of an AMASS pose file")
    parser.add_argument("--n", type=cli.int_range(1, MAX_CLI_SAMPLES), default=1,
                        help=f"samples per body (default 1, at most {MAX_CLI_SAMPLES})")
    parser.add_argument("--seed", type=cli.seed, default=0, help="0..2**63-1 (default 0)")
    parser.add_argument("--device", type=cli.device, default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--checkpoint", default=None,
                        help="our checkpoint, or reference weights converted by "
                             "posa_model.convert (default: the shipped one)")
    parser.add_argument("--hierarchy", default=None,
                        help="hierarchy .npz or mesh_ds folder the checkpoint was trained with "
                             "(default: the one the checkpoint carries, else the stand-in's)")
    parser.add_argument("--colour", "--color", choices=("contact", "semantics"),
                        default="contact", help="what the vertex colours show")
    parser.add_argument("--show-sample", type=cli.int_range(0, MAX_CLI_SAMPLES - 1), default=0,
                        help="sample the colours show")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow a .pkl --body or --pose (unpickling runs code from the file)")
    parser.add_argument("--out", required=True, type=Path, help="OUT.ply | OUT.glb | OUT.npz")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m posa_model.sample``: sample contacts for a posed body and write them."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from . import cli
    from .export import FORMATS, write_contacts

    if args.out.suffix.lower() not in FORMATS:
        raise cli.UsageError(f"--out {args.out}: must end in one of {', '.join(FORMATS)}")
    if args.show_sample >= args.n:
        raise cli.UsageError(f"--show-sample {args.show_sample}: there are only {args.n} "
                             "sample(s) (0-based)")
    cli.check_pickle(None if args.body == "standin" else args.body, args.allow_pickle, "--body")
    pose_file = args.pose if args.pose.lower().endswith((".npz", ".pkl")) else None
    cli.check_pickle(pose_file, args.allow_pickle, "--pose")
    cli.check_paths(inputs=[("--body", None if args.body == "standin" else args.body),
                            ("--pose", pose_file), ("--checkpoint", args.checkpoint),
                            ("--hierarchy", args.hierarchy)],
                    outputs=[("--out", args.out)])
    cli.clean_stale_temps([args.out])
    vertices, faces = _pose_body(args.body, args.pose, args.frame, args.allow_pickle)
    sampler = load_sampler(args.checkpoint, device=args.device, hierarchy=args.hierarchy)
    sampler.check_body(faces, f"--body {args.body}", num_vertices=int(vertices.shape[0]))
    if not sampler.trained:
        print("warning: the checkpoint is an UNTRAINED placeholder; maps are meaningless",
              file=sys.stderr)
    out = sampler.sample(vertices[None], n_samples=args.n, seed=args.seed)
    path = write_contacts(args.out, vertices, faces, out.contact[0], out.semantics[0],
                          colour=args.colour, shown_sample=args.show_sample)
    print(f"wrote {path} ({args.n} sample(s), device {sampler.device})")
    for k in range(args.n):
        in_contact = int((out.contact[0, k] > out.threshold).sum())
        classes = ", ".join(f"{name} {count}" for name, count in
                            out.classes_in_contact(0, k).items()) or "none"
        print(f"sample {k}: {in_contact} vertices in contact; classes: {classes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
