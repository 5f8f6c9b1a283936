"""The built extension zip: it validates, installs into bpy 4.5.4, enables, runs, and disables."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import tomllib
import zipfile

import pytest
from bl_helpers import ROOT, child_env

_spec = importlib.util.spec_from_file_location("build_addon", ROOT / "scripts" / "build_addon.py")
assert _spec is not None and _spec.loader is not None
build_addon = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_addon)


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    try:
        return build_addon.build(out, stage_dir=out / "stage")
    except build_addon.BuildError as exc:
        pytest.fail(str(exc))


def test_manifest_fields():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == "1.0.0" and manifest["id"] == "posa_blender"
    assert manifest["blender_version_min"] == "4.2.0" and manifest["type"] == "add-on"
    assert len(manifest["tagline"]) <= 64
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert manifest["permissions"]["files"] and manifest["permissions"]["network"]
    assert len(set(build_addon.versions().values())) == 1


def test_the_zip_holds_the_addon_and_posa_model_with_its_assets(built_zip):
    assert built_zip.name == f"posa_blender-{build_addon.versions()['pyproject.toml']}.zip"
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        assert {"blender_manifest.toml", "__init__.py", "arrays.py", "ops_contacts.py"} <= names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        wheel_name = next(n for n in names if n.startswith("wheels/posa_model-"))
        with zipfile.ZipFile(archive.open(wheel_name)) as wheel:
            inner = set(wheel.namelist())
    for asset in build_addon.REQUIRED_ASSETS:
        assert f"posa_model/{asset}" in inner
    assert "posa_model/sample.py" in inner and not any(n.startswith("smplx/") for n in inner)


def test_the_zip_validates_with_blenders_extension_tool(built_zip):
    tool = build_addon.find_blender_ext(None)
    output = build_addon.run_tool(tool, "validate", str(built_zip))
    assert "Success" in output or "success" in output.lower() or output == ""


def test_a_build_with_mismatched_versions_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(build_addon, "versions", lambda: {"a": "0.1.0", "b": "0.2.0"})
    with pytest.raises(build_addon.BuildError, match="versions disagree"):
        build_addon.build(tmp_path)


INSTALL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    # forget this checkout: posa_model must come from the wheel inside the extension
    sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in type(f).__name__]
    # (a virtual environment inside the checkout, as CI's .venv-blender, keeps its packages)
    sys.path[:] = [p for p in sys.path
                   if p and (not p.startswith(ROOT) or "site-packages" in p)]
    import bpy, addon_utils
    result = {}
    bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default",
                                             enable_on_install=True)
    name = "bl_ext.user_default.posa_blender"
    result["enabled"] = addon_utils.check(name)[1]
    import posa_model
    result["posa_model"] = posa_model.__file__
    bpy.ops.wm.read_homefile()
    bpy.ops.posa.add_body(model="STANDIN")
    bpy.ops.posa.apply_preset(preset="sit")
    result["sample"] = sorted(bpy.ops.posa.sample_contacts(n_samples=2, device="CPU"))
    mesh = bpy.context.active_object.data
    result["attributes"] = sorted(a.name for a in mesh.attributes if a.name.startswith("posa"))
    addon_utils.disable(name, default_set=True)
    result["left"] = [n for n in dir(bpy.types) if n.startswith("POSA_")]
    repos = bpy.context.preferences.extensions.repos
    index = next(i for i, repo in enumerate(repos) if repo.module == "user_default")
    bpy.ops.extensions.package_uninstall(repo_index=index, pkg_id="posa_blender")
    result["uninstalled"] = name not in addon_utils.addons_fake_modules and not any(
        m.__name__ == name for m in addon_utils.modules())
    print("RESULT", json.dumps(result))
    """
)


@pytest.mark.slow
def test_the_zip_installs_enables_runs_and_disables_in_bpy(built_zip, tmp_path):
    pytest.importorskip("torch")
    code = f"ROOT = {str(ROOT)!r}\nZIP = {str(built_zip)!r}\n" + INSTALL_SCRIPT
    env = child_env()
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=600, env=env, cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    found = json.loads(lines[-1][len("RESULT "):])
    assert found["enabled"] is True
    assert str(ROOT) not in found["posa_model"]
    assert env["BLENDER_USER_RESOURCES"] in found["posa_model"]  # the extension's wheel
    assert found["sample"] == ["FINISHED"]
    assert found["attributes"] == ["posa_contact", "posa_contact_0", "posa_contact_1",
                                   "posa_semantics", "posa_semantics_0", "posa_semantics_1"]
    assert found["left"] == []
    assert found["uninstalled"] is True
