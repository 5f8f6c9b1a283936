"""Render docs/contacts.png: the shipped checkpoint's sampled contacts on the stand-in presets.

    python docs/make_contacts_picture.py

Per preset, one sample (seed 0): left the contact heat map, right the class of what each
contact vertex touches (MPCAT40 palette), seen from the side and from below-behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posa_model import load_sampler
from posa_model.body import load_body_model, pose_body
from posa_model.classes import contact_colors, semantic_colors
from posa_model.viz import render_meshes

PRESETS = ("sit", "sit_low", "lie_back", "lean_back", "kneel", "stand")


def main() -> None:
    model, sampler = load_body_model(), load_sampler(device="cpu")
    faces = np.asarray(model.faces, dtype=np.int64)
    meshes, colors, titles = [], [], []
    for name in PRESETS:
        vertices = pose_body(model, name).vertices[0]
        out = sampler.sample(vertices, n_samples=1, seed=0)
        classes = ", ".join(out.classes_in_contact(0, 0)) or "none"
        for kind, rgb in (("contact", contact_colors(out.contact[0, 0])),
                          ("class", semantic_colors(out.semantics[0, 0]))):
            meshes.append((vertices, faces))
            colors.append(rgb / 255.0)
            titles.append(f"{name}: {kind}" + (f" ({classes})" if kind == "class" else ""))
    path = Path(__file__).with_name("contacts.png")
    render_meshes(meshes, path, colors=colors, views=("side", (-150.0, -25.0)), titles=titles,
                  meshes_per_row=4, panel_inches=1.9, dpi=90)
    print(path)


if __name__ == "__main__":
    main()
