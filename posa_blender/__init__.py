"""POSA Contacts: a Blender 4.2+ extension that samples where a posed body touches the world.

Installed from ``dist/posa_blender-<version>.zip`` it is imported as ``bl_ext.<repo>.posa_blender``,
so every import inside the package is relative; ``posa_model`` (the model code, shipped as a wheel
in the zip) is imported lazily inside operators, so registering needs neither torch nor scipy.

Layout: ``arrays`` (the one module moving arrays between Blender and numpy), ``body``,
``contacts``, ``scene`` (the scene as posa_model sees it) and ``people`` (placed people as
bodies): Blender-side tools; ``bones``, ``deps`` and ``runtime`` (pure Python), ``props``,
``prefs``, ``ops_*`` (operators; ``ops_scene``: Guess Classes, Refine Placement;
``ops_populate``: Populate Scene, Populate Selected, Regenerate, Lock People) and ``ui``
(panels).
"""

from __future__ import annotations

import bpy

from . import (
    ops_body,
    ops_contacts,
    ops_deps,
    ops_populate,
    ops_scene,
    prefs,
    props,
    runtime,
    scene,
    ui,
)

classes = (
    *props.classes,
    *prefs.classes,
    *ops_body.classes,
    *ops_contacts.classes,
    *ops_deps.classes,
    *ops_scene.classes,
    *ops_populate.classes,
    *ui.classes,
)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    props.register_properties()
    prefs.refresh_sys_path()
    ui.register_icons()


def unregister() -> None:
    ops_deps.stop_polling()
    ui.unregister_icons()
    props.unregister_properties()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    runtime.clear()
    scene.clear_cache()
    from . import deps

    deps.remove_from_sys_path(prefs.added_paths)
    prefs.added_paths.clear()
