"""The built extension zip: it validates, installs into bpy 4.5.4, enables, runs, and disables."""

from __future__ import annotations

import importlib.metadata
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
    # build-time generators stay out of the add-on
    assert not any(n.startswith("tools/") or "make_default_checkpoint" in n for n in inner)
    assert not any(n.startswith("posa_model/") and "standin" in n and n.endswith(".py")
                   for n in inner)  # the stand-in generator (tools/standin) neither


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


# --------------------------------------------------------------------------------------------
# only what Install Dependencies installs


#: Blender's own modules: the bpy wheel and what it requires (numpy among them).
BLENDER_ITSELF = ("bpy",)


def requirement_closure(names) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions ``names`` and everything they require (extras and other
    platforms' requirements left out), by normalised name."""
    from packaging.requirements import Requirement

    out: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in out:
            continue
        dist = importlib.metadata.distribution(name)
        out[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return out


def top_level(dist: importlib.metadata.Distribution) -> set[str]:
    """The top-level names (packages, modules, folders) a distribution installs."""
    return {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}


def minimal_site(folder, dists) -> None:
    """``folder`` as a site-packages of links to exactly the files of ``dists``."""
    folder.mkdir()
    for dist in dists.values():
        for name in top_level(dist):
            target = dist.locate_file(name)
            if not (folder / name).exists():
                (folder / name).symlink_to(target, target_is_directory=target.is_dir())


MINIMAL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.append(SITE)  # Blender (bpy and what it brings) and what the button installs
    import bpy, addon_utils

    def loaded():  # the top-level entries of SITE that loaded modules come from
        return sorted({str(module.__file__)[len(SITE) + 1:].split("/")[0]
                       for module in list(sys.modules.values())
                       if str(getattr(module, "__file__", None) or "").startswith(SITE + "/")})

    result = {"path": [p for p in sys.path if p], "steps": {}}
    bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default",
                                             enable_on_install=True)
    name = "bl_ext.user_default.posa_blender"
    deps = sys.modules[name + ".deps"]
    result["installed_by_button"] = list(deps.INSTALLED_BY_BUTTON)
    result["features"] = {f: [d for _, d in needs] for f, needs in deps.FEATURES.items()}
    bpy.ops.wm.read_homefile()
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0, 0, -0.05), scale=(6, 6, 0.1))
    bpy.context.active_object.name = "Floor"
    bpy.data.objects["Cube"].location = (2.5, 2.5, 0.5)  # a box nobody touches: an obstacle
    result["steps"]["start"] = loaded()
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)

    def sample_a_mesh():  # the stand-in's mesh read from its file (Add Body needs more)
        import numpy as np
        from posa_model.body import standin_path
        from posa_model.frames import smplx_to_blender

        model = np.load(standin_path())
        mesh = bpy.data.meshes.new("Body")
        mesh.from_pydata(smplx_to_blender(model["v_template"]).tolist(), [],
                         model["f"].tolist())
        obj = bpy.data.objects.new("Body", mesh)
        bpy.context.scene.collection.objects.link(obj)
        bpy.context.view_layer.objects.active = obj
        result = bpy.ops.posa.sample_contacts(n_samples=1, device="CPU")
        bpy.data.objects.remove(obj)
        return result

    # in an order in which each step declares what the ones before it declared
    steps = [
        ("Guess Classes", lambda: bpy.ops.posa.guess_classes()),
        ("Sample Contacts", sample_a_mesh),
        ("Add Body", lambda: bpy.ops.posa.add_body(model="STANDIN")),
        ("Populate Scene", lambda: bpy.ops.posa.populate_scene(people="stand:1", seed=0,
                                                               device="CPU")),
    ]
    every = deps.FEATURES["Populate Scene"]
    for step, call in steps:
        # what the step does not declare cannot be imported (unless an earlier step did)
        for module, dist in every:
            if (module, dist) in deps.FEATURES[step]:
                if sys.modules.get(module, 0) is None:
                    del sys.modules[module]
            elif module not in sys.modules:
                sys.modules[module] = None
        try:
            result[step] = sorted(call())
        except Exception as exc:
            result[step] = f"{type(exc).__name__}: {exc}"
        result["steps"][step] = loaded()
    result["missing"] = deps.feature_status()
    result["people"] = [o.name for o in bpy.context.scene.objects
                        if "posa_placement" in o.keys()]
    addon_utils.disable(name, default_set=True)
    print("RESULT", json.dumps(result))
    """
)


@pytest.mark.slow
def test_every_feature_runs_with_only_blenders_numpy_and_what_the_button_installs(
        built_zip, tmp_path):
    """Guess Classes, Add Body, Sample Contacts and Populate Scene in a Python that sees only
    Blender (the bpy wheel and what it requires: numpy, ...) and what Install Dependencies
    installs (with their requirements). Each feature runs with the button's packages it does
    not declare in deps.FEATURES blocked, and what it loaded is what it declares."""
    pytest.importorskip("torch")
    pytest.importorskip("igl")
    from posa_blender import deps

    button = requirement_closure(deps.INSTALLED_BY_BUTTON)
    blender = requirement_closure(BLENDER_ITSELF)
    site = tmp_path / "site-packages"
    minimal_site(site, {**blender, **button})
    code = f"ZIP = {str(built_zip)!r}\nSITE = {str(site)!r}\n" + MINIMAL_SCRIPT
    env = child_env()
    env.pop("PYTHONPATH", None)
    # -S: no site-packages of this environment (nor its .pth files: no editable posa_model);
    # -I: no PYTHON* variables, no user site
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                            text=True, timeout=600, env=env, cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    found = json.loads(lines[-1][len("RESULT "):])
    assert not any("site-packages" in p and str(site) not in p and "extensions" not in p
                   for p in found["path"]), found["path"]
    for step in ("Guess Classes", "Sample Contacts", "Add Body", "Populate Scene"):
        assert found[step] == ["FINISHED"], (step, found[step])
    assert len(found["people"]) == 1
    assert all(not missing for _, missing in found["missing"]), found["missing"]
    # what each feature loaded (cumulative, in an order whose declared needs grow) is declared
    provided = {name: top_level(dist) for name, dist in {**blender, **button}.items()}
    ours = set().union(*(provided[n] for n in blender))
    for step in ("Guess Classes", "Sample Contacts", "Add Body", "Populate Scene"):
        declared = requirement_closure([d for d in found["features"][step]
                                        if d != "posa_model"])
        allowed = ours.union(*(provided[n.lower().replace("_", "-")] for n in declared))
        extra = set(found["steps"][step]) - allowed
        assert not extra, f"{step} loaded {sorted(extra)}, not declared in deps.FEATURES"
