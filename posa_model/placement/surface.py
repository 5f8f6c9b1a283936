"""The class of the surface a point is near: the semantic grid read at the nearest surface point.

The semantic grid holds, per node, the class of the nearest object, read at the nearest node
(no blending). A vertex 7 cm above the floor but 3 cm from a cabinet is 3 cm from the scene (the
cabinet), yet its nearest node may still say "floor": distance and class disagree, and a body
can look like it touches the floor by snuggling up to the cabinet. Reading the class at the
point's projection onto the surface, ``x - sdf(x) * grad(sdf)(x) / |grad(sdf)(x)|``, makes the
class that of the surface the distance was measured to.
"""

from __future__ import annotations

import torch

from ..scene.grid import TorchSceneGrid

__all__ = ["sdf_and_surface_labels"]


def sdf_and_surface_labels(scene: TorchSceneGrid, x: torch.Tensor, normals: bool = False
                           ) -> tuple[torch.Tensor, ...]:
    """(..., 3) points -> (sdf (...), class (...) int64 of the nearest surface point), and with
    ``normals`` also the unit direction (..., 3) from that surface point to the point (the
    SDF's gradient, detached: +y where the point rests on something below it).

    The sdf keeps its autograd graph when ``x`` has one (refinement); otherwise it is detached.
    """
    tracked = x.requires_grad
    with torch.enable_grad():
        p = x if tracked else x.detach().requires_grad_(True)
        d = scene.sdf(p)
        (grad,) = torch.autograd.grad(d.sum(), p, retain_graph=tracked)
    if not tracked:
        d = d.detach()
    normal = grad / grad.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    with torch.no_grad():
        labels = scene.semantics_at(x.detach() - d.detach()[..., None] * normal)
    if normals:
        return d, labels, normal.detach()
    return d, labels
