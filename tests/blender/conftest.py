"""Fixtures for the Blender tests: they run on the real ``bpy`` wheel (``pip install bpy==4.5.4``).

Without ``bpy`` every test module here is skipped (each imports :mod:`bl_helpers` first, which
calls ``pytest.importorskip("bpy")``), so the main suite runs with the system Python; this file
imports nothing from Blender at module level, so ``pytest tests/blender`` without bpy reports
skips instead of failing while loading it. Blender's user folders point at a temporary
directory, so the tests never touch ``~/.config/blender``. The add-on is enabled once per
session from this checkout and disabled at the end (bpy hangs at exit while classes or timers
stay registered); ``reset_file`` loads the default startup file before each test.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session", autouse=True)
def addon():
    """posa_blender from this checkout, enabled as an add-on for the whole session."""
    from bl_helpers import ADDON, ROOT, addon_utils

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = addon_utils.enable(ADDON, default_set=True)
    if module is None:
        pytest.fail("posa_blender failed to enable (see the output above)")
    yield module
    addon_utils.disable(ADDON, default_set=True)


@pytest.fixture(autouse=True)
def reset_file(addon):
    """The default startup file (Cube, Camera, Light) before every test; preferences reset."""
    from bl_helpers import ADDON, bpy

    bpy.ops.wm.read_homefile()
    prefs = bpy.context.preferences.addons[ADDON].preferences
    for name in ("smplx_path", "checkpoint", "site_packages"):
        setattr(prefs, name, "")
    yield


@pytest.fixture
def body():
    """A stand-in body added with the operator: SimpleNamespace(mesh=..., rig=...)."""
    from bl_helpers import bpy

    pytest.importorskip("torch")
    bpy.ops.posa.add_body(model="STANDIN")
    mesh = bpy.context.active_object
    return SimpleNamespace(mesh=mesh, rig=mesh.parent)


@pytest.fixture
def room():
    """The test room of :mod:`bl_rooms` (its objects' classes guessed), without the cube."""
    pytest.importorskip("torch")
    pytest.importorskip("igl")
    from bl_rooms import make_room

    return make_room()


@pytest.fixture
def unchanged():
    """``unchanged.take()`` before a call that must be refused, ``unchanged.check()`` after."""
    from bl_helpers import snapshot

    class Checker:
        before: dict | None = None

        def take(self) -> None:
            self.before = snapshot()

        def check(self) -> None:
            assert self.before is not None, "call unchanged.take() first"
            assert snapshot() == self.before

    return Checker()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the process as soon as pytest is done when bpy was loaded.

    bpy 4.5.4 stops its audio thread only when the ``bpy`` module object is freed; if anything
    still refers to the module while Python shuts down (pytest keeps test parameters, reports
    and tracebacks until then), a C++ static destructor waits forever for that thread. Nothing
    is left to run after ``pytest_unconfigure``, so leave with the session's status before the
    destructors run. (test_bl_register checks, in a fresh process, that registering and
    unregistering the add-on exits normally.)
    """
    if "bpy" not in sys.modules:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(getattr(config, "_posa_exitstatus", 0)))


def pytest_sessionfinish(session, exitstatus):
    session.config._posa_exitstatus = exitstatus
