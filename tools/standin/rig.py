"""The stand-in's rig: body parts, skinning weights, the joint regressor and the vertex order
(keypoints at SMPL-X's vertex ids). See the package docstring (steps 4 to 6).
"""

from __future__ import annotations

import numpy as np

from posa_model.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS

from .design import (
    _CENTRE_CHAINS,
    _J,
    _LEFT_FINGERS,
    _PALM_Y,
    DESIGNED_JOINTS,
    SMPLX_VERTEX_IDS,
    StandinBuildError,
    _finger_points,
    _foot,
    _foot_forward,
    _mirror,
    _Prim,
    _prim_sdf,
    _smoothstep,
    designed_keypoints,
)
from .surface import _directed_edges

# --------------------------------------------------------------------------------------------
# body parts: each vertex belongs to the bone (joint -> next joint) of its nearest primitive


def _chains() -> dict[str, tuple[tuple[int, ...], np.ndarray]]:
    """Bone chains: name -> (joint ids, end point). Segment i runs from joint ids[i] to the
    next joint (or the end point) and is the body part of joint ids[i]."""
    J, ix = DESIGNED_JOINTS, JOINT_INDEX
    chains = {
        "spine": ((0, 3, 6, 9), J[12]),
        "neck": ((12,), J[15]),
        "head": ((15,), np.array([0.0, 0.45, 0.0])),
        "jaw": ((22,), np.array([0.0, 0.235, 0.07])),
    }
    toe_tip = _foot((0.0, -0.062, 0.19))
    left = {
        "arm": (("collar", "shoulder", "elbow", "wrist"), np.array([0.74, _PALM_Y, -0.03])),
        "palm": (("wrist",), _finger_points("middle")[0]),
        "leg": (("hip", "knee", "ankle"), J[ix["left_foot"]]),
        "foot": (("ankle", "foot"), toe_tip),
        "toes": (("foot",), toe_tip),
    }
    for finger in _LEFT_FINGERS:
        left[finger] = ((f"{finger}1", f"{finger}2", f"{finger}3"), _finger_points(finger)[3])
    for side, word in (("l", "left"), ("r", "right")):
        for name, (joints, end) in left.items():
            chains[f"{name}_{side}"] = (tuple(ix[f"{word}_{j}"] for j in joints),
                                        end if side == "l" else _mirror(end))
    return chains


def _part_labels(verts: np.ndarray, faces: np.ndarray, prims: list[_Prim]) -> np.ndarray:
    """(V,) joint id of the body part of each vertex.

    The nearest primitive gives a chain and the nearest segment of that chain the part. The big
    pelvis ellipsoids reach down over the top of the thighs, so trunk vertices below the groin
    (at hip height in front, the gluteal fold 8 cm lower behind) go to the thighs; vertices on
    the seam x = 0 only see centre chains. Two passes of a majority filter over each vertex's
    neighbours then smooth the part boundaries.
    """
    from scipy.sparse import coo_matrix

    chains = _chains()
    adds = [p for p in prims if not p.sub]
    dist = np.stack([_prim_sdf(p, verts) for p in adds], 1)
    centre = np.array([p.chain in _CENTRE_CHAINS for p in adds])
    seam = verts[:, 0] == 0.0
    dist[np.ix_(seam, ~centre)] = np.inf
    nearest = np.argmin(dist, 1)
    labels = np.empty(len(verts), dtype=np.int64)
    for pi in np.unique(nearest):
        rows = np.flatnonzero(nearest == pi)
        ids, end = chains[adds[pi].chain]
        pts = np.concatenate([DESIGNED_JOINTS[list(ids)], end[None]])
        seg = np.stack([_segment_offsets(verts[rows], pts[i], pts[i + 1])
                        for i in range(len(ids))], 1)
        labels[rows] = np.asarray(ids)[np.argmin(np.linalg.norm(seg, axis=2), 1)]
    hip_y = _J("left_hip")[1]
    groin = hip_y + 0.01 - 0.09 * _smoothstep(-verts[:, 2], -0.02, 0.06)
    below = (labels == JOINT_INDEX["pelvis"]) & (verts[:, 1] < groin) & ~seam
    labels[below] = np.where(verts[below, 0] > 0, JOINT_INDEX["left_hip"],
                             JOINT_INDEX["right_hip"])
    e = _directed_edges(faces)
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), (len(verts),) * 2).tocsr()
    for _ in range(2):
        onehot = np.zeros((len(verts), NUM_JOINTS))
        onehot[np.arange(len(verts)), labels] = 1.0
        votes = adj @ onehot + 1.5 * onehot
        votes[np.ix_(seam, np.flatnonzero(_mirror_joint_ids() != np.arange(NUM_JOINTS)))] = 0
        labels = np.argmax(votes, 1)
    return labels


def _segment_offsets(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3) vectors from the closest points of segment a-b to the points ``x``."""
    ab = b - a
    t = np.clip(((x - a) @ ab) / max(ab @ ab, 1e-30), 0.0, 1.0)
    return x - a - t[:, None] * ab


def _mirror_joint_ids() -> np.ndarray:
    """(55,) the id of each joint's mirror image (left <-> right; centre joints themselves)."""
    out = np.arange(NUM_JOINTS)
    for name, i in JOINT_INDEX.items():
        if name.startswith("left_"):
            j = JOINT_INDEX["right_" + name[5:]]
            out[i], out[j] = j, i
    return out


# --------------------------------------------------------------------------------------------
# skinning weights

_BLEND_WIDTH = {  # metres of geodesic blending on each side of a part boundary, by child joint
    "hip": 0.09, "knee": 0.045, "ankle": 0.03, "foot": 0.015, "spine1": 0.05, "spine2": 0.05,
    "spine3": 0.05, "neck": 0.045, "head": 0.03, "jaw": 0.02, "collar": 0.04, "shoulder": 0.05,
    "elbow": 0.035, "wrist": 0.025, "eye_smplhf": 0.01, "thumb1": 0.015, "1": 0.012,
    "2": 0.008, "3": 0.006,
}  # fmt: skip


def _blend_pairs() -> list[tuple[int, int, float]]:
    """(part, other part, width) pairs that may blend: each bone with its parent, plus the armpit
    (spine3-shoulder), the neck-collar slopes and under the chin (neck-jaw)."""
    pairs = []
    for j in range(1, NUM_JOINTS):
        name = JOINT_NAMES[j].removeprefix("left_").removeprefix("right_")
        pairs.append((PARENTS[j], j, _BLEND_WIDTH.get(name, _BLEND_WIDTH.get(name[-1]))))
    ix = JOINT_INDEX
    pairs.append((ix["neck"], ix["jaw"], 0.02))
    for side in ("left", "right"):
        pairs.append((ix["spine3"], ix[f"{side}_shoulder"], 0.05))
        pairs.append((ix["neck"], ix[f"{side}_collar"], 0.03))
    return pairs


def _skinning_weights(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(V, 55) float32 LBS weights: 1 on the vertex's own part, blended only across boundaries
    between related parts (:func:`_blend_pairs`) within a geodesic band of the pair's width.

    A vertex of part a at geodesic distance g (along edges inside parts a and b) from the a|b
    boundary gives b ``0.5 (1 - smoothstep(g / width))``: 0.5 at the boundary, 0 beyond the
    width, a the rest (the others are scaled to leave a more than half). Weights are quantised
    to 2**-12 with the own part taking the remainder, so each row sums to exactly 1.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    nv = len(verts)
    e = _directed_edges(faces)
    e = e[e[:, 0] < e[:, 1]]
    length = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1)
    la, lb = labels[e[:, 0]], labels[e[:, 1]]
    other = np.zeros((nv, NUM_JOINTS))
    for a, b, width in _blend_pairs():
        cross = ((la == a) & (lb == b)) | ((la == b) & (lb == a))
        if not cross.any():
            continue
        inside = np.isin(la, (a, b)) & np.isin(lb, (a, b)) & ~cross
        # a virtual source sits on the boundary, half an edge from both ends of each crossing
        src = np.concatenate([e[inside, 0], e[inside, 1], np.full(2 * cross.sum(), nv)])
        dst = np.concatenate([e[inside, 1], e[inside, 0], e[cross].ravel()])
        w = np.concatenate([length[inside], length[inside], np.repeat(length[cross] / 2, 2)])
        graph = coo_matrix((w, (src, dst)), (nv + 1, nv + 1)).tocsr()
        g = dijkstra(graph, indices=nv, limit=width)[:nv]
        near = np.flatnonzero(np.isfinite(g))
        t = np.clip(g[near] / width, 0.0, 1.0)
        to = np.where(labels[near] == a, b, a)
        other[near, to] = np.maximum(other[near, to], 0.5 * (1.0 - t * t * (3.0 - 2.0 * t)))
    cap = 0.5 - 1.0 / 4096.0  # the own part always keeps more than half
    total = other.sum(1)
    scale = np.where(total > cap, cap / np.maximum(total, 1e-12), 1.0)
    weights = np.floor(other * scale[:, None] * 4096.0) / 4096.0
    weights[np.arange(nv), labels] = 1.0 - weights.sum(1)
    return weights.astype(np.float32)


# --------------------------------------------------------------------------------------------
# joint regressor


def _joint_regressor(verts: np.ndarray, labels: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(55, V) float32 non-negative rows summing to 1 with ``J_regressor @ verts == joints``.

    Each joint is a convex combination of surface vertices of its own and adjacent parts: the
    weights closest to a smooth falloff over its nearest such vertices that reproduce the joint
    exactly (a bounded least-squares problem with the constraints weighted 1e4), taking more
    vertices until the joint lies inside their convex hull.
    """
    from scipy.optimize import lsq_linear

    reg = np.zeros((NUM_JOINTS, len(verts)))
    present = np.bincount(labels, minlength=NUM_JOINTS) > 0
    for j in range(NUM_JOINTS):
        related = {j, PARENTS[j]} | {c for c in range(NUM_JOINTS) if PARENTS[c] == j}
        related = sorted(r for r in related if r >= 0 and present[r])
        pool = np.flatnonzero(np.isin(labels, related))
        pool = pool[np.argsort(np.linalg.norm(verts[pool] - joints[j], axis=1), kind="stable")]
        count = 24
        for _ in range(12):
            cand = pool[:count]
            d = np.linalg.norm(verts[cand] - joints[j], axis=1)
            prior = np.exp(-2.0 * (d / d.max()) ** 2)
            big = 1e4
            a = np.concatenate([big * verts[cand].T, big * np.ones((1, len(cand))),
                                np.eye(len(cand))])
            b = np.concatenate([big * joints[j], [big], prior / prior.sum()])
            w = lsq_linear(a, b, bounds=(0.0, np.inf), method="bvls").x
            w = np.where(w < 1e-7, 0.0, w)
            w /= w.sum()
            if np.linalg.norm(w @ verts[cand] - joints[j]) < 1e-5:
                break
            count = int(count * 1.5)
        else:
            raise StandinBuildError(
                f"J_regressor: joint {JOINT_NAMES[j]} is not inside its surrounding vertices")
        reg[j, cand] = w
    return reg.astype(np.float32)


# --------------------------------------------------------------------------------------------
# vertex order


def _keypoint_vertices(verts: np.ndarray, labels: np.ndarray, mirror_of: np.ndarray
                       ) -> dict[str, int]:
    """The vertex for each of :data:`SMPLX_VERTEX_IDS`, the extreme one in the anatomical sense
    near the designed point: most anterior nose, most lateral ear, most distal finger tip, most
    forward toe, lowest-rearmost heel, the eyeball vertex nearest to its front; right = mirror."""
    kp = designed_keypoints()
    ix = JOINT_INDEX
    near = {k: np.linalg.norm(verts - p, axis=1) for k, p in kp.items()}
    out: dict[str, int] = {}
    nose = np.flatnonzero((labels == ix["head"]) & (near["nose"] < 0.03))
    out["nose"] = int(nose[np.argmax(verts[nose, 2])])
    out["leye"] = int(np.argmin(near["leye"]))
    ear = np.flatnonzero(near["lear"] < 0.02)
    out["lear"] = int(ear[np.argmax(verts[ear, 0])])
    for finger in _LEFT_FINGERS:
        pts = _finger_points(finger)
        tip = np.flatnonzero(labels == ix[f"left_{finger}3"])
        out[f"l{finger}"] = int(tip[np.argmax(verts[tip] @ (pts[3] - pts[2]))])
    forward = _foot_forward()
    for key in ("LBigToe", "LSmallToe"):
        toe = np.flatnonzero(near[key] < 0.012)
        out[key] = int(toe[np.argmax(verts[toe] @ forward)])
    heel = np.flatnonzero(near["LHeel"] < 0.03)
    out["LHeel"] = int(heel[np.argmin(verts[heel, 1] + verts[heel] @ forward)])
    for key in list(out):
        if key[0] in "lL":
            out[("r" if key[0] == "l" else "R") + key[1:]] = int(mirror_of[out[key]])
    return out


def _vertex_permutation(verts: np.ndarray, labels: np.ndarray, keypoints: dict[str, int]
                        ) -> np.ndarray:
    """``perm`` with ``new_verts = verts[perm]``: vertices sorted by body part, then position,
    except that each keypoint vertex sits at its SMPL-X vertex id."""
    order = np.lexsort((verts[:, 2], verts[:, 1], verts[:, 0], labels))
    special = np.array([SMPLX_VERTEX_IDS[k] for k in keypoints])
    chosen = np.array([keypoints[k] for k in keypoints])
    if len(set(chosen.tolist())) != len(chosen):
        raise StandinBuildError("keypoints: two SMPL-X keypoints picked the same vertex")
    perm = np.full(len(verts), -1)
    perm[special] = chosen
    perm[perm < 0] = order[~np.isin(order, chosen)]
    return perm
