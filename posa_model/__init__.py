"""posa_model: POSA's contact cVAE, body models, mesh hierarchy and sampler; never imports bpy.

Heavy modules (torch) load on first use, so ``import posa_model`` is cheap (the Blender add-on
imports it at registration time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ContactSamples", "Sampler", "load_sampler", "__version__"]

if TYPE_CHECKING:
    from .sample import ContactSamples, Sampler, load_sampler


def __getattr__(name: str) -> Any:
    if name in ("ContactSamples", "Sampler", "load_sampler"):
        from . import sample

        return getattr(sample, name)
    raise AttributeError(f"module 'posa_model' has no attribute {name!r}")
