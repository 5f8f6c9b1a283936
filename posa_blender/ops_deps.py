"""Operators for dependencies: Install Dependencies (explicit, online access only) and Refresh."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import bpy
from bpy.props import EnumProperty

from . import deps, prefs

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems as OperatorReturn

#: The running pip process and its log, while an install runs in the background.
_job: dict[str, object] = {}
_POLL_SECONDS = 1.0


def online_access() -> bool:
    """``bpy.app.online_access`` (a function so tests can stand in for the user's setting)."""
    return bool(bpy.app.online_access)


def _log_path() -> Path:
    return Path(tempfile.gettempdir()) / "posa_blender_pip.log"


def _finish(returncode: int, log_path: Path) -> str:
    """Record the outcome of pip; returns the line to report."""
    failure = deps.install_result(returncode, log_path)
    if failure is None:
        prefs.refresh_sys_path()
        missing = deps.missing_modules()
        text = ("Dependencies installed; restart Blender if torch still shows as missing"
                if missing else "Dependencies installed")
    else:
        text = f"Install failed: {failure}"
    prefs.install_text.append(text)
    return text


def _poll_install() -> float | None:
    """Timer: report when the background pip finishes (timers run only with a UI)."""
    process = _job.get("process")
    if not isinstance(process, subprocess.Popen):
        return None
    if process.poll() is None:
        return _POLL_SECONDS
    _job.clear()
    _finish(int(process.returncode), _log_path())
    if bpy.context.window_manager is not None:
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                area.tag_redraw()
    return None


def stop_polling() -> None:
    """Unregister the timer (at unregister: bpy hangs at exit while timers stay registered)."""
    if bpy.app.timers.is_registered(_poll_install):
        bpy.app.timers.unregister(_poll_install)


class POSA_OT_install_dependencies(bpy.types.Operator):
    """Install PyTorch, SciPy, smplx, libigl and tqdm with Blender's Python into the add-on's
    user folder"""

    bl_idname = "posa.install_dependencies"
    bl_label = "Install Dependencies"
    bl_options = {"REGISTER", "INTERNAL"}

    variant: EnumProperty(
        name="PyTorch", items=prefs.VARIANT_ITEMS + [("PREFERENCES", "From Preferences", "")],
        default="PREFERENCES",
    )

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        variant = prefs.settings(context).variant if self.variant == "PREFERENCES" else self.variant
        plan = deps.install_plan(sys.executable, prefs.user_site_packages(), variant)
        if not online_access():
            self.report({"ERROR"}, "Online access is disabled (Preferences > System > Network > "
                        "Allow Online Access); nothing was installed. To install by hand, run: "
                        + plan.shell_text())
            return {"CANCELLED"}
        if _job:
            self.report({"ERROR"}, "An install is already running; wait for it to finish")
            return {"CANCELLED"}
        try:
            process = deps.start_install(plan, _log_path())
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot run pip ({exc}); run by hand: {plan.shell_text()}")
            return {"CANCELLED"}
        if bpy.app.background:  # no event loop: wait here
            returncode = process.wait()
            text = _finish(returncode, _log_path())
            self.report({"INFO"} if returncode == 0 else {"ERROR"}, text)
            return {"FINISHED"} if returncode == 0 else {"CANCELLED"}
        _job["process"] = process
        bpy.app.timers.register(_poll_install, first_interval=_POLL_SECONDS)
        prefs.install_text.append(f"Installing ({variant}) into {plan.target}; log: {_log_path()}")
        self.report({"INFO"}, f"Installing {', '.join(deps.INSTALLED_BY_BUTTON)} ({variant}) in "
                    "the background; this can take minutes")
        return {"FINISHED"}


class POSA_OT_refresh_dependencies(bpy.types.Operator):
    """Look for the dependencies again (after installing, or changing the site-packages path)
    and check whether CUDA is usable (imports torch)"""

    bl_idname = "posa.refresh_dependencies"
    bl_label = "Refresh"
    bl_options = {"REGISTER", "INTERNAL"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        prefs.refresh_sys_path(context)
        text = deps.probe_cuda()
        prefs.cuda_text.append(text)
        missing = deps.missing_modules()
        if missing:
            self.report({"WARNING"}, deps.missing_message(missing))
        else:
            self.report({"INFO"}, f"All dependencies found; CUDA {text}")
        return {"FINISHED"}


classes = (POSA_OT_install_dependencies, POSA_OT_refresh_dependencies)
