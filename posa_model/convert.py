"""``python -m posa_model.convert``: make the files a real-SMPL-X user needs.

Reference POSA weights -> one of our checkpoints (self-contained: it carries the ``mesh_ds``
hierarchy, the frame regressor and ``meta["frame"] = "reference"``), usable by
``load_sampler(path)``, ``--checkpoint`` of the sample and place commands and the add-on's
checkpoint preference::

    python -m posa_model.convert --reference POSA_contact_semantics/last_model.pt \\
        --mesh-ds mesh_ds/ --body models/smplx/SMPLX_NEUTRAL.npz --out posa_smplx.pt

``--body`` is the SMPL-X model the weights were trained for: its ``J_regressor`` rows give the
pelvis the reference frame subtracts (and the hips and spine3 the canonical frame would use),
and its faces are checked against ``mesh_0.obj``. ``--frame-regressor R.npy`` ((4, V) rows for
pelvis, left_hip, right_hip, spine3) may be given instead.

An SMPL-X-format body of its own topology -> its mesh hierarchy (to synthesize data for it and
train a checkpoint: README, "Using real SMPL-X")::

    python -m posa_model.convert --body MY_BODY.npz --out my_hierarchy.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import CheckpointError

__all__ = ["body_frame_regressor", "build_body_hierarchy", "convert_reference", "main"]


def _model_path(body: str | Path) -> str | Path | None:
    """'standin' -> None (the bundled stand-in), else the path."""
    return None if str(body) == "standin" else body


def body_frame_regressor(body: str | Path, hierarchy: Any, allow_pickle: bool = False,
                         ) -> torch.Tensor:
    """(4, V) float32 rows of ``body``'s J_regressor for pelvis, left_hip, right_hip, spine3,
    after checking that the body is ``hierarchy``'s level-0 mesh (BodyMeshMismatch if not)."""
    from .body import load_body_model
    from .frames import FRAME_JOINTS
    from .nn.mesh_check import check_body_mesh

    model = load_body_model(_model_path(body), allow_pickle=allow_pickle)
    check_body_mesh(model.faces, hierarchy, f"--body {body}", num_vertices=model.num_vertices)
    regressor = model.j_regressor.detach().to("cpu", torch.float32)
    return regressor[list(FRAME_JOINTS)].clone()


def _read_frame_regressor(path: str | Path, num_vertices: int) -> torch.Tensor:
    from .io_utils import read_npy_bounded

    array = read_npy_bounded(path, "frame regressor", kinds="f", error=CheckpointError)
    if array.shape != (4, num_vertices) or not np.isfinite(array).all():
        raise CheckpointError(f"{path}: frame regressor must be a finite (4, {num_vertices}) "
                              f"array (pelvis, left_hip, right_hip, spine3), found "
                              f"{array.dtype} {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _standin_regressor_if_standin(hierarchy: Any) -> torch.Tensor | None:
    from .assets import standin_frame_regressor, standin_hierarchy
    from .nn.mesh_check import faces_match

    standin = standin_hierarchy()
    if len(hierarchy.vertices[0]) == len(standin.vertices[0]) and faces_match(
            hierarchy.faces[0], standin.faces[0]):
        return standin_frame_regressor()
    return None


def convert_reference(reference: str | Path, mesh_ds: str | Path, out: str | Path, *,
                      body: str | Path | None = None,
                      frame_regressor: str | Path | np.ndarray | torch.Tensor | None = None,
                      allow_pickle: bool = False) -> Path:
    """Write reference POSA weights + their ``mesh_ds`` folder as one of our checkpoints.

    Args:
        reference: the reference checkpoint (``torch.save`` dict with ``model_state_dict``).
        mesh_ds: its ``mesh_ds`` folder (``mesh_{k}.obj``, ``D_{k}.npz``, ``U_{k}.npz``).
        out: the checkpoint to write (atomically): fp32 weights, the embedded hierarchy,
            ``meta`` {trained: True, frame: "reference", source_format: "reference", ...}.
        body: the SMPL-X model whose J_regressor gives the frame joints (faces checked).
        frame_regressor: instead of ``body``, a (4, V) array or ``.npy`` path. With neither,
            only a mesh_ds of the stand-in's mesh is accepted (its regressor is known).

    Raises:
        CheckpointError / HierarchyError / ModelFileError: naming the file and the field;
        BodyMeshMismatch: ``body`` is not mesh_ds's level-0 mesh.
    """
    from .nn.checkpoint import save_checkpoint
    from .reference import read_reference

    weights = read_reference(reference, mesh_ds)
    hierarchy = weights.hierarchy
    n_full = int(len(hierarchy.vertices[0]))
    if body is not None and frame_regressor is not None:
        raise CheckpointError("give either a body or a frame regressor, not both")
    if body is not None:
        regressor, source = body_frame_regressor(body, hierarchy, allow_pickle), f"body {body}"
    elif isinstance(frame_regressor, str | Path):
        regressor = _read_frame_regressor(frame_regressor, n_full)
        source = f"file {frame_regressor}"
    elif frame_regressor is not None:
        regressor = torch.as_tensor(np.asarray(frame_regressor), dtype=torch.float32)
        if tuple(regressor.shape) != (4, n_full) or not torch.isfinite(regressor).all():
            raise CheckpointError(f"frame_regressor must be a finite (4, {n_full}) array, "
                                  f"found {tuple(regressor.shape)}")
        source = "array"
    else:
        regressor = _standin_regressor_if_standin(hierarchy)
        if regressor is None:
            raise CheckpointError(
                f"{mesh_ds}: this mesh_ds is not the stand-in's mesh, so the frame joints "
                "(the pelvis the reference frame subtracts) must come from its body model: "
                "pass --body SMPLX_NEUTRAL.npz (or --frame-regressor R.npy, (4, "
                f"{n_full}) rows for pelvis, left_hip, right_hip, spine3)")
        source = "stand-in SMPL-X J_regressor rows"
    meta = {
        "trained": True,
        "frame": "reference",
        "source_format": "reference",
        "source": Path(reference).name,
        "reference_epoch": weights.epoch,
        "frame_regressor": source,
        "description": f"reference POSA weights ({Path(reference).name}) with mesh_ds "
                       f"({n_full} vertices), converted by posa_model.convert",
    }
    return save_checkpoint(out, weights.model, hierarchy.fingerprint, regressor, meta=meta,
                           hierarchy=hierarchy)


def build_body_hierarchy(body: str | Path, out: str | Path, allow_pickle: bool = False):
    """Build and save the mesh hierarchy of an SMPL-X-format body's template mesh (the reference
    parameters: 4 levels, factor 4, spirals of 9); returns the MeshHierarchy."""
    from .body import load_body_model
    from .mesh.build import DEFAULT_BUILD_PARAMS, build_hierarchy, input_key
    from .mesh.hierarchy import save_hierarchy

    model = load_body_model(_model_path(body), allow_pickle=allow_pickle)
    vertices = model.v_template.detach().cpu().numpy().astype(np.float64)
    if len(vertices) != model.num_vertices:
        raise CheckpointError(f"--body {body}: the model poses {len(vertices)} of its "
                              f"{model.num_vertices} vertices; a hierarchy needs them all")
    hierarchy = build_hierarchy(vertices, model.faces, **DEFAULT_BUILD_PARAMS)
    save_hierarchy(hierarchy, out, source_key=input_key(vertices, model.faces,
                                                        **DEFAULT_BUILD_PARAMS))
    return hierarchy


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.convert",
        description="Convert reference POSA weights (+ mesh_ds) into a self-contained "
                    "checkpoint, or build the mesh hierarchy of an SMPL-X-format body.",
        epilog="examples:\n  python -m posa_model.convert --reference last_model.pt --mesh-ds "
               "mesh_ds/ --body SMPLX_NEUTRAL.npz --out posa_smplx.pt\n"
               "  python -m posa_model.convert --body MY_BODY.npz --out my_hierarchy.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference POSA checkpoint (last_model.pt)")
    parser.add_argument("--mesh-ds", type=Path, default=None,
                        help="the reference mesh_ds folder of those weights")
    parser.add_argument("--body", default=None,
                        help="SMPL-X model file/folder: with --reference, the body the weights "
                             "fit (frame joints, face check); alone, the body to build a "
                             "hierarchy for")
    parser.add_argument("--frame-regressor", type=Path, default=None,
                        help="with --reference instead of --body: (4, V) .npy rows for pelvis, "
                             "left_hip, right_hip, spine3")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow a .pkl --body (unpickling runs code from the file)")
    parser.add_argument("--out", type=Path, required=True,
                        help="checkpoint (.pt) to write, or hierarchy (.npz) without --reference")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m posa_model.convert``; exit 2 on a user error."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from . import cli

    cli.check_pickle(args.body, args.allow_pickle, "--body")
    inputs = [("--reference", args.reference), ("--mesh-ds", args.mesh_ds),
              ("--body", None if args.body is None else _model_path(args.body)),
              ("--frame-regressor", args.frame_regressor)]
    if args.reference is None:
        if args.body is None:
            raise cli.UsageError("nothing to convert: give --reference REF.pt --mesh-ds DIR "
                                 "(reference weights) or --body MODEL (a body's hierarchy)")
        if args.mesh_ds is not None or args.frame_regressor is not None:
            raise cli.UsageError("--mesh-ds and --frame-regressor go with --reference")
        if args.out.suffix.lower() != ".npz":
            raise cli.UsageError(f"--out {args.out}: a hierarchy is written as .npz")
        cli.check_paths(inputs=inputs, outputs=[("--out", args.out)])
        cli.clean_stale_temps([args.out])
        h = build_body_hierarchy(args.body, args.out, args.allow_pickle)
        print(f"wrote {args.out}: hierarchy of {args.body}, vertices per level "
              f"{h.num_vertices}, fingerprint {h.fingerprint[:16]}")
        return 0
    if args.mesh_ds is None:
        raise cli.UsageError("--reference needs --mesh-ds: the mesh_ds folder of those weights")
    if args.body is not None and args.frame_regressor is not None:
        raise cli.UsageError("give --body or --frame-regressor, not both")
    cli.check_paths(inputs=inputs, outputs=[("--out", args.out)])
    cli.clean_stale_temps([args.out])
    path = convert_reference(args.reference, args.mesh_ds, args.out, body=args.body,
                             frame_regressor=args.frame_regressor,
                             allow_pickle=args.allow_pickle)
    from .nn.checkpoint import read_checkpoint

    ckpt = read_checkpoint(path)
    print(f"wrote {path}: reference weights on {ckpt.hierarchy.num_vertices[0]} vertices "
          f"(network level {ckpt.config.network_level}: "
          f"{ckpt.hierarchy.num_vertices[ckpt.config.network_level]}), frame 'reference', "
          f"hierarchy {ckpt.hierarchy_fingerprint[:16]} embedded")
    body = args.body or "SMPLX_NEUTRAL.npz"
    print(f"sample with: python -m posa_model.sample --body {body} --checkpoint {path} "
          "--pose sit --out sit.ply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
