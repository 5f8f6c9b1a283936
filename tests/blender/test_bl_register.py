"""Registration: the add-on registers over its classes tuple and unregisters without leftovers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bl_helpers import ADDON, ROOT, addon_utils, bpy, child_env

import posa_blender
from posa_blender import ops_deps


def registered_posa_types() -> list[str]:
    return sorted(name for name in dir(bpy.types) if name.startswith("POSA_"))


def test_every_class_is_registered():
    names = {cls.__name__ for cls in posa_blender.classes}
    assert {"POSA_OT_add_body", "POSA_OT_apply_preset", "POSA_OT_load_pose_file",
            "POSA_OT_reset_pose", "POSA_OT_sample_contacts", "POSA_OT_install_dependencies",
            "POSA_OT_guess_classes", "POSA_OT_populate_scene", "POSA_OT_populate_selected",
            "POSA_OT_regenerate_people", "POSA_OT_lock_people", "POSA_OT_refine_placement",
            "POSA_PT_body", "POSA_PT_contacts", "POSA_PT_legend", "POSA_PT_scene"} <= names
    for cls in posa_blender.classes:
        assert cls.is_registered, cls.__name__
    assert hasattr(bpy.types.Scene, "posa") and hasattr(bpy.types.Object, "posa")
    assert ADDON in bpy.context.preferences.addons


def test_disable_removes_everything_and_enable_restores_it():
    addon_utils.disable(ADDON, default_set=True)
    try:
        assert registered_posa_types() == []
        assert not hasattr(bpy.types.Scene, "posa")
        assert not hasattr(bpy.types.Object, "posa")
        assert not bpy.app.timers.is_registered(ops_deps._poll_install)
        assert not any(cls.is_registered for cls in posa_blender.classes)
    finally:
        assert addon_utils.enable(ADDON, default_set=True) is not None
    assert all(cls.is_registered for cls in posa_blender.classes)
    assert bpy.context.scene.posa.n_samples == 1


def test_a_process_that_registers_and_unregisters_exits_promptly(tmp_path):
    """bpy 4.5.4 hangs at exit while classes stay registered: unregister must leave none."""
    code = textwrap.dedent(
        """
        import bpy, posa_blender
        posa_blender.register()
        posa_blender.unregister()
        left = [n for n in dir(bpy.types) if n.startswith("POSA_")]
        print("LEFT", left)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=child_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "LEFT []" in result.stdout


def test_registration_imports_neither_torch_nor_scipy():
    code = textwrap.dedent(
        """
        import sys, bpy, posa_blender
        posa_blender.register()
        heavy = [m for m in ("torch", "scipy", "smplx") if m in sys.modules]
        posa_blender.unregister()
        print("HEAVY", heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=child_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_modules_use_relative_imports_only():
    """An extension is imported as bl_ext.<repo>.posa_blender: no absolute self-imports."""
    modules = sorted((ROOT / "posa_blender").glob("*.py"))
    assert {"arrays.py", "ops_populate.py", "people.py", "scene.py"} <= {m.name for m in modules}
    for module in modules:
        source = module.read_text(encoding="utf-8")
        assert "import posa_blender" not in source and "from posa_blender" not in source, module
