"""Helpers shared by the Blender tests; importing this module skips the importer without bpy.

Every test module imports ``bl_helpers`` before ``bpy`` (it sorts first), so without the bpy
wheel each module is reported as skipped, whether pytest runs ``tests/`` or ``tests/blender``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Blender's user folders go to a throwaway directory; set before bpy is first imported.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="posa_blender_user_"))
bpy = pytest.importorskip("bpy", reason="the Blender tests need the bpy wheel (bpy==4.5.4)")

import addon_utils  # noqa: E402  (a module of Blender's, importable once bpy is)
import numpy as np  # noqa: E402

__all__ = ["ADDON", "ROOT", "addon_utils", "bpy", "child_env", "select_only", "snapshot"]

ROOT = Path(__file__).resolve().parents[2]
ADDON = "posa_blender"


def child_env() -> dict[str, str]:
    """Environment for subprocesses that import bpy: their own throwaway user folders."""
    env = dict(os.environ)
    env["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="posa_blender_child_")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def select_only(obj) -> None:
    """Make ``obj`` (or nothing, for None) the only selected and the active object."""
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    if obj is not None:
        obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def snapshot() -> dict:
    """What an operator refused with an error must not change: objects, meshes and attributes."""
    return {
        "objects": sorted(o.name for o in bpy.data.objects),
        "meshes": {
            m.name: (len(m.vertices), sorted(a.name for a in m.attributes),
                     float(np.sum([v.co.length for v in m.vertices[:50]])))
            for m in bpy.data.meshes
        },
        "armatures": {a.name: len(a.bones) for a in bpy.data.armatures},
        "pose": {
            o.name: [tuple(round(x, 9) for x in b.rotation_quaternion) for b in o.pose.bones]
            for o in bpy.data.objects if o.type == "ARMATURE"
        },
    }
