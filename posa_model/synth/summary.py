"""Dataset statistics (``summary.json``) and the printed table.

Contact means ``x < 0.05 m`` at the network-level vertices, as the training loader defines it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..classes import MPCAT40_NAMES
from .body import PART_NAMES
from .labels import CONTACT_THRESHOLD

__all__ = ["dataset_summary", "format_summary"]


def dataset_summary(splits: dict[str, dict], part_of_vertex: np.ndarray) -> dict:
    """Statistics of the written splits.

    ``splits[name]`` holds ``x`` (N, n), ``x_semantics`` (N, n), ``archetypes`` (N,) str and
    ``scenes`` (N,) str; ``part_of_vertex`` (n,) indexes :data:`PART_NAMES` for the
    network-level vertices.
    """
    out: dict = {"splits": {}, "archetypes": {}, "classes": {}, "parts": {}}
    all_x = np.concatenate([s["x"] for s in splits.values()])
    all_sem = np.concatenate([s["x_semantics"] for s in splits.values()])
    all_arch = np.concatenate([np.asarray(s["archetypes"], dtype=str) for s in splits.values()])
    for name, s in splits.items():
        out["splits"][name] = {"bodies": len(s["x"]), "scenes": len(set(s["scenes"]))}
        for a, c in Counter(s["archetypes"]).items():
            out["archetypes"].setdefault(a, {"train": 0, "test": 0})[name] = c
    contact = all_x < CONTACT_THRESHOLD
    touched = np.where(contact, all_sem, 0)
    for c in np.unique(touched[contact]) if contact.any() else []:
        out["classes"][MPCAT40_NAMES[c]] = {
            "class_id": int(c),
            "contact_vertices": int((touched == c).sum()),
            "bodies": int((touched == c).any(axis=1).sum()),
        }
    parts = {}
    for k, part in enumerate(PART_NAMES):
        cols = part_of_vertex == k
        if not cols.any():
            continue
        row = {"all": float(contact[:, cols].mean())}
        for a in sorted(set(all_arch)):
            rows = all_arch == a
            row[a] = float(contact[np.ix_(rows, cols)].mean())
        parts[part] = row
    out["parts"] = parts
    out["contact_fraction"] = float(contact.mean())
    out["bodies_without_contact"] = int((~contact.any(axis=1)).sum())
    return out


def format_summary(summary: dict) -> str:
    """A plain-text table of :func:`dataset_summary` plus the run's extra fields."""
    lines = []
    sp = summary["splits"]
    lines.append("split   bodies  scenes")
    for name in ("train", "test"):
        if name in sp:
            lines.append(f"{name:<7} {sp[name]['bodies']:>6}  {sp[name]['scenes']:>6}")
    lines.append("")
    lines.append(f"{'archetype':<15} {'train':>6} {'test':>6}")
    for a, c in sorted(summary["archetypes"].items()):
        lines.append(f"{a:<15} {c['train']:>6} {c['test']:>6}")
    lines.append("")
    lines.append(f"{'class touched':<15} {'id':>3} {'bodies':>7} {'vertices':>9}")
    for name, c in sorted(summary["classes"].items(), key=lambda kv: -kv[1]["bodies"]):
        lines.append(f"{name:<15} {c['class_id']:>3} {c['bodies']:>7} {c['contact_vertices']:>9}")
    lines.append("")
    archs = sorted(summary["archetypes"])
    short = [a.replace("reach_", "r_").replace("sit_", "s_").replace("lie_", "l_")[:8]
             for a in archs]
    lines.append("contact fraction per body part (x < 0.05 m), all bodies and per archetype")
    lines.append(f"{'part':<7} {'all':>5} " + " ".join(f"{s:>8}" for s in short))
    for part, row in summary["parts"].items():
        cells = " ".join(f"{row.get(a, float('nan')):>8.2f}" for a in archs)
        lines.append(f"{part:<7} {row['all']:>5.2f} {cells}")
    run = summary.get("run")
    if run:
        lines.append("")
        lines.append(
            f"fitted {run['bodies']} bodies in {run['seconds']:.1f} s "
            f"({run['bodies_per_minute']:.0f}/min, {run['workers']} worker(s)); "
            f"{run['attempts']} attempts, acceptance {run['acceptance']:.0%}; deepest vertex "
            f"{run['max_penetration_m'] * 1000:.1f} mm (tolerance "
            f"{run['penetration_tolerance_m'] * 1000:.0f} mm)")
        if run.get("rejections"):
            top = sorted(run["rejections"].items(), key=lambda kv: -kv[1])[:8]
            lines.append("most frequent rejections: " + "; ".join(f"{k} x{v}" for k, v in top))
    return "\n".join(lines)
