"""Add-on preferences: model and checkpoint paths, and where PyTorch comes from."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from . import deps

ADDON_PACKAGE = __package__ or "posa_blender"
VARIANT_ITEMS = [
    ("CPU", "CPU", "PyTorch for the CPU (smaller download)"),
    ("CUDA", "CUDA", "PyTorch with CUDA 12.6 for NVIDIA GPUs (Linux, Windows)"),
]

#: Folders this add-on appended to ``sys.path`` (removed again at unregister).
added_paths: list[str] = []
#: Last result of "Refresh" (CUDA usability), shown in the preferences.
cuda_text: list[str] = []
#: Last result of "Install Dependencies", shown in the preferences.
install_text: list[str] = []


@dataclass(frozen=True)
class Settings:
    """The preferences as plain values (defaults when the add-on is not enabled as one)."""

    smplx_path: str = ""
    checkpoint: str = ""
    site_packages: str = ""
    variant: str = "CPU"


def settings(context: bpy.types.Context | None = None) -> Settings:
    preferences = (context or bpy.context).preferences
    addon = preferences.addons.get(ADDON_PACKAGE) if preferences is not None else None
    prefs = getattr(addon, "preferences", None)
    if prefs is None:
        return Settings()
    return Settings(prefs.smplx_path, prefs.checkpoint, prefs.site_packages, prefs.variant)


def user_site_packages() -> Path:
    """``site-packages`` in the extension's user directory (where Install Dependencies puts
    PyTorch); for a legacy (non-extension) install, a folder in Blender's user scripts."""
    try:
        root = bpy.utils.extension_path_user(ADDON_PACKAGE, create=False)
    except ValueError:
        root = bpy.utils.user_resource("SCRIPTS", path="posa_blender")
    return Path(root) / deps.USER_SITE_DIRNAME


def refresh_sys_path(context: bpy.types.Context | None = None) -> list[str]:
    """Put the user install folder and the chosen site-packages on ``sys.path``."""
    chosen = settings(context).site_packages
    new = deps.add_to_sys_path([p for p in (str(user_site_packages()), chosen) if p])
    added_paths.extend(new)
    return new


def _on_site_packages(self: PosaPreferences, context: bpy.types.Context) -> None:
    refresh_sys_path(context)


class PosaPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    smplx_path: StringProperty(
        name="SMPL-X Folder", subtype="DIR_PATH",
        description="Folder with SMPLX_<GENDER>.npz (or smplx/SMPLX_<GENDER>.npz) from "
        "smpl-x.is.tue.mpg.de, for Add Body > SMPL-X",
    )
    checkpoint: StringProperty(
        name="Checkpoint", subtype="FILE_PATH",
        description="POSA checkpoint (.pt) to sample with; empty for the shipped one",
    )
    site_packages: StringProperty(
        name="Site-packages", subtype="DIR_PATH", update=_on_site_packages,
        description="An existing site-packages folder (venv or conda env with Blender's Python "
        "version) that has torch, scipy, smplx, libigl and tqdm",
    )
    variant: EnumProperty(name="PyTorch", items=VARIANT_ITEMS, default="CPU")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "smplx_path")
        layout.prop(self, "checkpoint")

        box = layout.box()
        box.label(text=f"Python dependencies (Blender's Python {sys.version.split()[0]})")
        grid = box.grid_flow(columns=3, even_columns=False, align=True)
        for status in deps.dependency_status():
            grid.label(text=status.module, icon="CHECKMARK" if status.found else "ERROR")
            grid.label(text=status.version if status.found else "not found")
            grid.label(text=_short(status.location) if status.found else "")
        box.label(text="What each feature needs:")
        features = box.grid_flow(columns=2, even_columns=False, align=True)
        for feature, missing in deps.feature_status():
            needs = ", ".join(m for m, _ in deps.FEATURES[feature])
            features.label(text=feature, icon="ERROR" if missing else "CHECKMARK")
            features.label(text=f"missing: {', '.join(missing)}" if missing
                           else f"ready ({needs})")
        box.label(text=f"CUDA: {cuda_text[-1] if cuda_text else deps.cuda_status()}")
        box.operator("posa.refresh_dependencies", icon="FILE_REFRESH")

        box.prop(self, "site_packages")
        if self.site_packages and (problem := deps.check_site_packages(self.site_packages)):
            box.label(text=problem, icon="ERROR")

        row = box.row(align=True)
        row.prop(self, "variant", expand=True)
        install = row.row()
        install.enabled = bpy.app.online_access
        install.operator("posa.install_dependencies", icon="IMPORT")
        if not bpy.app.online_access:
            box.label(text="Installing needs Preferences > System > Network > Allow Online Access",
                      icon="INFO")
        box.label(text=f"Installs {', '.join(deps.INSTALLED_BY_BUTTON)} into "
                  f"{_short(str(user_site_packages()))}")
        for line in install_text[-3:]:
            box.label(text=line)


def _short(path: str, keep: int = 60) -> str:
    return path if len(path) <= keep else "..." + path[-keep:]


classes = (PosaPreferences,)
