"""Static type check of posa_blender against fake-bpy-module (configured in pyproject.toml)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys

import pytest
from bl_helpers import ROOT


def _has_fake_bpy_module() -> bool:
    return any((dist.metadata["Name"] or "").lower().startswith("fake-bpy-module")
               for dist in importlib.metadata.distributions())


@pytest.mark.slow
def test_mypy_passes_on_posa_blender():
    if importlib.util.find_spec("mypy") is None or not _has_fake_bpy_module():
        pytest.skip("needs mypy and fake-bpy-module (pip install mypy fake-bpy-module-4.5)")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
