"""What several operators share: the body-model and shape options and the Object-Mode poll
(mixins), and the progress of long work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import EnumProperty, FloatVectorProperty, StringProperty

from . import prefs, props, runtime

if TYPE_CHECKING:  # the type checker sees the mixins as operators; at run time they are plain
    _OperatorMixin = bpy.types.Operator
else:
    _OperatorMixin = object


class ObjectModeOnly(_OperatorMixin):
    """Mixin: the operator runs in Object Mode only; the greyed-out button says why."""

    #: completes "Switch to Object Mode to ..."
    object_mode_task = "run this"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if context.mode != "OBJECT":
            cls.poll_message_set(f"Switch to Object Mode to {cls.object_mode_task}")
            return False
        return True


class BodyModelOptions:
    """Mixin: which body model an operator creates (stand-in or SMPL-X, gender)."""

    model: EnumProperty(name="Model", items=props.MODEL_ITEMS, default="STANDIN")
    gender: EnumProperty(name="Gender", items=props.GENDER_ITEMS, default="neutral")
    model_path: StringProperty(
        name="Model Path", subtype="FILE_PATH", options={"SKIP_SAVE"},
        description="SMPL-X model file or folder for Model = SMPL-X (for scripts); empty: the "
        "folder set in the preferences",
    )

    def load_body_model(self: Any, context: bpy.types.Context, instead: str,
                        gender: str | None = None) -> tuple[Any, str] | str:
        """(the body model of ``gender`` (default: the Gender option), its absolute path or ""
        for the stand-in), or the error message for the user (``instead``: what they can do
        instead, e.g. "add the Stand-in body")."""
        from posa_model.errors import PosaError

        model_path = ""
        if self.model == "SMPLX":
            model_path = self.model_path or prefs.settings(context).smplx_path
            if not model_path:
                return ("No SMPL-X folder set: choose it in Edit > Preferences > Add-ons > POSA "
                        "Contacts > SMPL-X Folder (models from smpl-x.is.tue.mpg.de), or "
                        f"{instead}")
            model_path = bpy.path.abspath(model_path)
        try:
            return runtime.body_model(model_path, gender or self.gender), model_path
        except PosaError as exc:
            return str(exc)


class ShapeOption:
    """Mixin: the shape (betas) of the one body an operator adds (Populate Scene draws a shape
    per person instead)."""

    betas: FloatVectorProperty(name="Shape", size=props.NUM_BETAS, soft_min=-3, soft_max=3)


@contextlib.contextmanager
def work_progress(context: bpy.types.Context, desc: str) -> Iterator[Any]:
    """A :class:`posa_model.progress.Progress` for long work: the window manager's progress
    (the cursor shows the percentage) and a bar in the system console."""
    from posa_model.progress import Progress

    wm = context.window_manager  # None in some contexts: then the console bar only
    if wm is not None:
        wm.progress_begin(0, 100)
    bar = Progress.bar(desc, report=None if wm is None else
                       lambda done: wm.progress_update(int(100 * done)))
    complete = False
    try:
        yield bar
        complete = True
    finally:
        bar.close(complete)
        if wm is not None:
            wm.progress_end()
