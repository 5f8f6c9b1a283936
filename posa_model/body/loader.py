"""Load an SMPL-X body model (the real one, or the bundled stand-in) as a ``BodyModel``.

:func:`load_body_model` accepts

* ``None``: the procedural stand-in shipped with this package
  (:func:`posa_model.assets.standin_path`), neutral only;
* an ``.npz`` file in SMPL-X format (the official ``SMPLX_NEUTRAL.npz`` or any file with the same
  fields);
* a ``.pkl`` file in SMPL-X format. Unpickling can run arbitrary code, so a pickle is read only
  because the user named that exact file; it is unpickled once, by this module, and smplx is
  handed a sanitised ``.npz`` copy;
* a folder in the layout ``smplx.create`` expects: ``<dir>/smplx/SMPLX_<GENDER>.npz`` or
  ``<dir>/SMPLX_<GENDER>.npz``. A ``.npz`` is preferred; a ``.pkl`` found by searching a folder is
  unpickled only when ``allow_pickle=True`` is passed.

smplx itself opens ``.npz`` files with ``allow_pickle=True``. This module first reads the file's
plain arrays with :func:`posa_model.io_utils.read_npz_bounded` (sizes bounded, no pickles) and
checks every field smplx reads (name, shape, dtype, finite values,
index ranges, the kinematic tree), raising :class:`~posa_model.errors.ModelFileError` naming the
file, the field, what was expected and what was found. If the file holds object (pickled) arrays,
as the official SMPL-X files do for ``joint2num``/``part2num``, smplx is handed a temporary copy
that holds only the plain arrays it needs, so nothing in a model file is ever unpickled
implicitly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..assets import standin_path
from ..errors import InputShapeError, ModelFileError, UnknownNameError
from ..io_utils import MAX_ZIP_MEMBERS, open_regular_file, read_npz_bounded, require_regular_file
from .joints import NUM_JOINTS, PARENTS

__all__ = ["GENDERS", "SMPLX_DOWNLOAD_HINT", "load_body_model", "validate_arrays"]

log = logging.getLogger(__name__)

GENDERS = ("neutral", "male", "female")
SMPLX_DOWNLOAD_HINT = (
    "Get the SMPL-X model files from https://smpl-x.is.tue.mpg.de (free registration required; "
    "download 'SMPL-X v1.1' and unpack it so that <dir>/smplx/SMPLX_NEUTRAL.npz exists), or pass "
    "model_path=None to use the procedural stand-in body shipped with posa_model."
)
#: Number of pose-corrective blend shapes of SMPL-X: 54 non-root joints x 9 rotation entries.
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9
#: smplx adds extra joints from hard-coded SMPL-X vertex ids (nose, eyes, ears, toes, heels and
#: finger tips); the largest is 9929, so a model needs at least this many vertices.
MIN_VERTICES = 9930
#: smplx reads 10 shape and 10 expression components when a file has fewer than 400.
MIN_SHAPE_COMPONENTS = 20
NUM_HAND_POSE = 45  # 15 hand joints x 3

_SUFFIXES = (".npz", ".pkl")
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def load_body_model(
    model_path: str | os.PathLike | None = None,
    gender: str = "neutral",
    *,
    allow_pickle: bool = False,
    num_betas: int = 10,
    num_expression: int = 10,
):
    """Load an SMPL-X-format body model as a :class:`~.model.BodyModel` (float32, CPU).

    Args:
        model_path: ``None`` for the bundled stand-in, an ``.npz``/``.pkl`` file, or a folder laid
            out as ``<dir>/smplx/SMPLX_<GENDER>.npz`` or ``<dir>/SMPLX_<GENDER>.npz``.
        gender: ``"neutral"``, ``"male"`` or ``"female"``; picks the file in a folder and is
            recorded on the model. The stand-in is neutral only.
        allow_pickle: let a folder search fall back to ``SMPLX_<GENDER>.pkl`` (unpickling runs
            code from the file). A ``.pkl`` named directly is always read.
        num_betas, num_expression: the shape and expression components used (1..300, 0..100).

    Returns:
        The :class:`~.model.BodyModel`; ``model.smplx`` is the ``smplx.SMPLX`` module it was
        built from (``use_pca=False``: hand poses are 45 axis-angle values per hand).

    Raises:
        ModelFileError: the file is missing, has a wrong extension, is not a readable npz/pickle,
            or a field smplx needs is missing, has a wrong shape/dtype, or non-finite values.
        InputShapeError: ``gender`` is not one of :data:`GENDERS`, or a size is out of range.
    """
    import smplx

    from .model import BodyModel

    gender = _check_gender(gender)
    if not (isinstance(num_betas, int) and 1 <= num_betas <= 300):
        raise InputShapeError(f"num_betas: expected an int in 1..300, found {num_betas!r}")
    if not (isinstance(num_expression, int) and 0 <= num_expression <= 100):
        raise InputShapeError(f"num_expression: expected an int in 0..100, found "
                              f"{num_expression!r}")
    path = _resolve_path(model_path, gender, allow_pickle)
    arrays, needs_copy = _read_model_file(path)
    validate_arrays(arrays, source=str(path))
    with contextlib.ExitStack() as stack:
        load_from = path
        if needs_copy:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="posa_smplx_")))
            load_from = tmp / "SMPLX_MODEL.npz"
            np.savez(load_from, **_smplx_fields(arrays))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # smplx prints warnings about short bases
            module = smplx.SMPLX(str(load_from), gender=gender, ext="npz", use_pca=False,
                                 num_betas=num_betas, num_expression_coeffs=num_expression)
        if printed.getvalue().strip():
            log.info("smplx (%s): %s", path, printed.getvalue().strip())
    module.source_path = str(path)
    return BodyModel.from_smplx(module)


def validate_arrays(
    arrays: Mapping[str, Any],
    *,
    source: str = "<arrays>",
    face_contour: bool = False,
    num_pca_comps: int = 0,
) -> None:
    """Check that ``arrays`` hold every field ``smplx.SMPLX`` reads, with consistent shapes.

    ``V`` (vertices) is taken from ``v_template`` and ``F`` (faces) from ``f``. Required:
    ``v_template`` (V, 3) float, ``f`` (F, 3) int in [0, V), ``J_regressor`` (55, V),
    ``weights`` (V, 55) with rows summing to 1, ``kintree_table`` (2, 55) with SMPL-X's parents,
    ``shapedirs`` (V, 3, K>=20), ``posedirs`` (V, 3, 486) or (3V, 486), ``hands_componentsl``/``r``
    (P>=num_pca_comps, 45), ``hands_meanl``/``r`` (45,), ``lmk_faces_idx`` (L,) int in [0, F),
    ``lmk_bary_coords`` (L, 3); with ``face_contour`` also ``dynamic_lmk_faces_idx`` (N, M) and
    ``dynamic_lmk_bary_coords`` (N, M, 3). Float fields must be finite.

    Raises:
        ModelFileError: naming ``source``, the field, the expected and the found shape or value.
    """

    def fail(field: str, expected: str, found: str) -> ModelFileError:
        return ModelFileError(
            f"{source}: field {field!r}: expected {expected}, found {found}. "
            "Is this an SMPL-X model file?"
        )

    def get(field: str, kind: str) -> np.ndarray:
        if field not in arrays:
            present = ", ".join(sorted(arrays)) or "no fields"
            raise fail(field, "the field to be present", f"only {present}")
        value = np.asarray(arrays[field])
        if value.dtype == object:
            raise fail(field, "a numeric array", "an object (pickled) array")
        if kind == "float" and value.dtype.kind not in "fiu":
            raise fail(field, "a float array", f"dtype {value.dtype}")
        if kind == "int" and value.dtype.kind not in "iu":
            raise fail(field, "an integer array", f"dtype {value.dtype}")
        if kind == "float" and value.size and not np.isfinite(value).all():
            raise fail(field, "finite values", f"{int((~np.isfinite(value)).sum())} NaN/inf")
        return value

    def shape_is(field: str, value: np.ndarray, expected: tuple) -> None:
        ok = value.ndim == len(expected) and all(
            e is None or e == s for e, s in zip(expected, value.shape, strict=True)
        )
        if not ok:
            text = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            raise fail(field, f"shape {text}", f"shape {value.shape}")

    v_template = get("v_template", "float")
    if v_template.ndim != 2 or v_template.shape[1] != 3:
        raise fail("v_template", "shape (V, 3)", f"shape {v_template.shape}")
    nv = v_template.shape[0]
    if nv < MIN_VERTICES:
        raise fail(
            "v_template",
            f"at least {MIN_VERTICES} vertices (smplx reads SMPL-X vertex ids up to 9929)",
            f"{nv}",
        )
    faces = get("f", "int")
    shape_is("f", faces, (None, 3))
    if faces.size and (faces.min() < 0 or faces.max() >= nv):
        raise fail("f", f"vertex ids in [0, {nv})", f"range [{faces.min()}, {faces.max()}]")
    nf = faces.shape[0]

    shape_is("J_regressor", get("J_regressor", "float"), (NUM_JOINTS, nv))
    weights = get("weights", "float")
    shape_is("weights", weights, (nv, NUM_JOINTS))
    worst = float(np.abs(weights.sum(axis=1) - 1.0).max())
    if worst > 1e-2:
        raise fail("weights", "rows summing to 1", f"a row summing to 1 {worst:+.3g} off")

    kintree = get("kintree_table", "int")
    shape_is("kintree_table", kintree, (2, NUM_JOINTS))
    parents = kintree[0].astype(np.int64)
    if not np.array_equal(parents[1:], np.array(PARENTS[1:], dtype=np.int64)):
        bad = int(np.flatnonzero(parents[1:] != np.array(PARENTS[1:]))[0]) + 1
        raise fail(
            "kintree_table",
            f"SMPL-X parents (joint {bad}: parent {PARENTS[bad]})",
            f"parent {parents[bad]}",
        )

    shapedirs = get("shapedirs", "float")
    shape_is("shapedirs", shapedirs, (nv, 3, None))
    if shapedirs.shape[2] < MIN_SHAPE_COMPONENTS:
        raise fail(
            "shapedirs",
            f"at least {MIN_SHAPE_COMPONENTS} components (10 shape + 10 expression)",
            f"{shapedirs.shape[2]}",
        )
    posedirs = get("posedirs", "float")
    if posedirs.shape not in ((nv, 3, NUM_POSE_BASIS), (nv * 3, NUM_POSE_BASIS)):
        raise fail(
            "posedirs",
            f"shape ({nv}, 3, {NUM_POSE_BASIS}) or ({nv * 3}, {NUM_POSE_BASIS})",
            f"shape {posedirs.shape}",
        )

    for side in "lr":
        comps = get(f"hands_components{side}", "float")
        shape_is(f"hands_components{side}", comps, (None, NUM_HAND_POSE))
        if comps.shape[0] < num_pca_comps:
            raise fail(
                f"hands_components{side}",
                f"at least num_pca_comps={num_pca_comps} rows",
                f"{comps.shape[0]}",
            )
        shape_is(f"hands_mean{side}", get(f"hands_mean{side}", "float"), (NUM_HAND_POSE,))

    lmk_faces = get("lmk_faces_idx", "int")
    shape_is("lmk_faces_idx", lmk_faces, (None,))
    _check_range("lmk_faces_idx", lmk_faces, nf, fail)
    shape_is("lmk_bary_coords", get("lmk_bary_coords", "float"), (lmk_faces.shape[0], 3))
    if face_contour:
        dyn = get("dynamic_lmk_faces_idx", "int")
        shape_is("dynamic_lmk_faces_idx", dyn, (None, None))
        _check_range("dynamic_lmk_faces_idx", dyn, nf, fail)
        shape_is(
            "dynamic_lmk_bary_coords", get("dynamic_lmk_bary_coords", "float"), (*dyn.shape, 3)
        )


# --------------------------------------------------------------------------------------------
# internals


def _check_range(field: str, value: np.ndarray, limit: int, fail) -> None:
    if value.size and (value.min() < 0 or value.max() >= limit):
        raise fail(field, f"face ids in [0, {limit})", f"range [{value.min()}, {value.max()}]")


def _check_gender(gender: str) -> str:
    if not isinstance(gender, str) or gender.lower() not in GENDERS:
        raise UnknownNameError(f"gender: expected one of {GENDERS}, found {gender!r}")
    return gender.lower()


def _resolve_path(model_path: str | os.PathLike | None, gender: str, allow_pickle: bool) -> Path:
    """The model file to read, or ModelFileError saying where it was looked for."""
    if model_path is None:
        path = standin_path()
        if gender != "neutral":
            raise ModelFileError(
                f"the bundled stand-in body is neutral only, found gender={gender!r}; "
                f"pass model_path to use a gendered SMPL-X model. {SMPLX_DOWNLOAD_HINT}"
            )
        if not path.is_file():
            raise ModelFileError(
                f"{path}: the stand-in body file is missing from this installation; "
                f"reinstall posa_model. {SMPLX_DOWNLOAD_HINT}"
            )
        return path
    path = Path(model_path).expanduser()
    if path.is_dir():
        stem = f"SMPLX_{gender.upper()}"
        folders = (path / "smplx", path)
        for folder in folders:
            if (folder / f"{stem}.npz").is_file():
                return folder / f"{stem}.npz"
        pickles = [
            folder / f"{stem}.pkl" for folder in folders if (folder / f"{stem}.pkl").is_file()
        ]
        if pickles and allow_pickle:
            return pickles[0]
        if pickles:
            raise ModelFileError(
                f"{path}: found only {pickles[0].name} ({pickles[0]}); a pickle can run code, so "
                "it is read only when named directly (model_path=<that file>) or with "
                "allow_pickle=True. Prefer the .npz files of the SMPL-X download."
            )
        looked = ", ".join(str(folder / f"{stem}.npz") for folder in folders)
        raise ModelFileError(
            f"{path}: no SMPL-X model file found (looked for {looked}). {SMPLX_DOWNLOAD_HINT}"
        )
    if not path.exists():
        raise ModelFileError(f"{path}: file not found. {SMPLX_DOWNLOAD_HINT}")
    if path.suffix.lower() not in _SUFFIXES:
        raise ModelFileError(
            f"{path}: expected an SMPL-X model file ending in .npz or .pkl (or a folder of them), "
            f"found suffix {path.suffix or '(none)'!r}. {SMPLX_DOWNLOAD_HINT}"
        )
    return path


def _read_model_file(path: Path) -> tuple[dict[str, Any], bool]:
    """Read the fields of a model file without implicit unpickling.

    Returns the arrays and whether smplx must be handed a sanitised copy (a pickle, or an npz that
    holds object arrays in fields smplx does not need).
    """
    if path.suffix.lower() == ".pkl":
        require_regular_file(path, "SMPL-X model file", ModelFileError)
        return _read_pickle(path), True
    try:
        with open_regular_file(path, "SMPL-X model file", ModelFileError) as f, \
                zipfile.ZipFile(f) as archive:
            dtypes = _npz_member_dtypes(archive, path)
    except _READ_ERRORS as exc:
        raise ModelFileError(
            f"{path}: cannot read as an npz archive ({type(exc).__name__}: {exc}). The file is "
            f"corrupt or not an SMPL-X model. {SMPLX_DOWNLOAD_HINT}"
        ) from exc
    plain = [name for name, dtype in dtypes.items() if not dtype.hasobject]
    arrays: dict[str, Any] = read_npz_bounded(path, "SMPL-X model file", keys=plain,
                                              error=ModelFileError)
    for name, dtype in dtypes.items():
        if dtype.hasobject:  # a marker: validation reports it if smplx needs the field
            arrays[name] = np.empty(0, dtype=object)
    has_objects = any(dtype.hasobject for dtype in dtypes.values())
    return arrays, has_objects


def _npz_member_dtypes(archive: zipfile.ZipFile, path: Path) -> dict[str, np.dtype]:
    """The dtype of each ``.npy`` member of an npz, read from the headers (no data loaded)."""
    fmt = np.lib.format
    names = [m for m in archive.namelist() if m.endswith(".npy")]
    if len(names) > MAX_ZIP_MEMBERS:
        raise ModelFileError(f"{path}: {len(names)} fields, more than the limit of "
                             f"{MAX_ZIP_MEMBERS}")
    out: dict[str, np.dtype] = {}
    for member in names:
        name = member[:-4]
        with archive.open(member) as f:
            version = fmt.read_magic(f)
            read_header = (
                fmt.read_array_header_1_0 if version == (1, 0) else (fmt.read_array_header_2_0)
            )
            _, _, dtype = read_header(f)
        out[name] = dtype
    return out


def _read_pickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")  # noqa: S301 - the user named this file
    except (pickle.UnpicklingError, AttributeError, ImportError, IndexError, *_READ_ERRORS) as exc:
        raise ModelFileError(
            f"{path}: cannot unpickle ({type(exc).__name__}: {exc}). The file is corrupt, needs "
            f"a package that is not installed (e.g. chumpy), or is not an SMPL-X model. "
            f"{SMPLX_DOWNLOAD_HINT}"
        ) from exc
    if not isinstance(data, Mapping):
        raise ModelFileError(f"{path}: expected a pickled dict of arrays, found {type(data)}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if hasattr(value, "toarray"):  # scipy.sparse J_regressor in some pickles
            value = value.toarray()
        elif hasattr(value, "r") and not isinstance(value, np.ndarray):  # chumpy arrays
            value = value.r
        try:
            out[str(key)] = np.asarray(value)
        except (TypeError, ValueError):
            out[str(key)] = np.empty(0, dtype=object)
    return out


_SMPLX_FIELDS = (
    "v_template", "f", "J_regressor", "weights", "kintree_table", "shapedirs", "posedirs",
    "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
    "lmk_faces_idx", "lmk_bary_coords", "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords",
)  # fmt: skip


def _smplx_fields(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The plain arrays smplx reads (for the sanitised copy); object arrays never included."""
    out = {}
    for key in _SMPLX_FIELDS:
        if key in arrays and np.asarray(arrays[key]).dtype != object:
            out[key] = np.asarray(arrays[key])
    return out
