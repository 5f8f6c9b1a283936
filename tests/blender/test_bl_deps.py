"""Dependencies: status, site-packages paths, and the explicit, online-only install button."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from bl_helpers import ADDON, bpy

from posa_blender import deps, ops_deps, prefs


def test_status_reports_each_runtime_module_with_its_version():
    status = {s.module: s for s in deps.dependency_status()}
    assert set(status) == {m for m, _ in deps.RUNTIME_MODULES}
    assert status["numpy"].found and status["numpy"].version
    assert status["posa_model"].found


def test_a_blocked_module_counts_as_missing_and_the_message_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert "torch" in deps.missing_modules()
    message = deps.missing_message(["torch"])
    assert "Install Dependencies" in message and "Site-packages" in message


def test_cuda_status_never_imports_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert deps.cuda_status().startswith("unknown")
    assert "torch" not in sys.modules


@pytest.mark.parametrize(
    ("variant", "platform", "index"),
    [("CPU", "linux", deps.TORCH_INDEX["CPU"]), ("CUDA", "win32", deps.TORCH_INDEX["CUDA"]),
     ("CUDA", "darwin", None)],
)
def test_install_plan_uses_blenders_python_the_user_folder_and_the_chosen_build(
        variant, platform, index, tmp_path):
    plan = deps.install_plan("/blender/python", tmp_path / "site", variant, platform=platform,
                             numpy_version="1.26.4")
    command = list(plan.command)
    assert command[:4] == ["/blender/python", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "site")
    assert {"torch", "scipy", "smplx", "numpy==1.26.4"} <= set(command)
    if index is None:
        assert "--index-url" not in command
    else:
        assert command[command.index("--index-url") + 1] == index
    with pytest.raises(ValueError, match="variant"):
        deps.install_plan("python", tmp_path, "ROCM")


def test_site_packages_of_another_python_version_is_refused(tmp_path):
    other = tmp_path / "lib" / "python3.9" / "site-packages"
    other.mkdir(parents=True)
    assert "Python 3.9" in deps.check_site_packages(other)
    assert deps.add_to_sys_path([other]) == []
    assert "not a folder" in deps.check_site_packages(tmp_path / "missing")


def test_a_chosen_site_packages_goes_on_sys_path_and_comes_off_at_unregister(tmp_path):
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    folder = tmp_path / "env" / "lib" / here / "site-packages"
    folder.mkdir(parents=True)
    (folder / "posa_probe_module.py").write_text("VALUE = 7\n")
    addon_prefs = bpy.context.preferences.addons[ADDON].preferences
    addon_prefs.site_packages = str(folder)  # the update callback adds it
    try:
        assert str(folder.resolve()) in sys.path
        import posa_probe_module

        assert posa_probe_module.VALUE == 7
    finally:
        addon_prefs.site_packages = ""
        deps.remove_from_sys_path([str(folder.resolve())])
        sys.modules.pop("posa_probe_module", None)


def test_install_is_refused_without_online_access_and_nothing_runs(monkeypatch):
    assert bpy.app.online_access is False  # the bpy module starts offline
    started = []
    monkeypatch.setattr(deps, "start_install", lambda *a, **k: started.append(a))
    with pytest.raises(RuntimeError, match="Online access is disabled.*pip install"):
        bpy.ops.posa.install_dependencies()
    assert started == []


def test_install_runs_pip_with_the_chosen_variant_when_online(monkeypatch, tmp_path):
    """The real pip would download gigabytes: run a stand-in command built from the real plan."""
    monkeypatch.setattr(ops_deps, "online_access", lambda: True)
    monkeypatch.setattr(prefs, "user_site_packages", lambda: tmp_path / "site-packages")
    seen = {}
    real_plan = deps.install_plan

    def plan(python, target, variant="CPU", **kwargs):
        seen["plan"] = real_plan(python, target, variant, **kwargs)
        marker = tmp_path / "ran.txt"
        code = f"open({str(marker)!r}, 'w').write({variant!r})"
        return deps.InstallPlan((sys.executable, "-c", code), str(target))

    monkeypatch.setattr(deps, "install_plan", plan)
    assert bpy.ops.posa.install_dependencies(variant="CUDA") == {"FINISHED"}
    assert (tmp_path / "ran.txt").read_text() == "CUDA"
    assert seen["plan"].target == str(tmp_path / "site-packages")
    assert deps.TORCH_INDEX["CUDA"] in seen["plan"].command or sys.platform == "darwin"
    assert prefs.install_text[-1].startswith("Dependencies installed")


def test_a_failing_install_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(ops_deps, "online_access", lambda: True)
    monkeypatch.setattr(prefs, "user_site_packages", lambda: tmp_path / "site-packages")
    failing = deps.InstallPlan((sys.executable, "-c", "import sys; print('no index'); "
                                "sys.exit(3)"), str(tmp_path))
    monkeypatch.setattr(deps, "install_plan", lambda *a, **k: failing)
    with pytest.raises(RuntimeError, match="status 3.*no index"):
        bpy.ops.posa.install_dependencies()


def test_refresh_reports_cuda_and_missing_modules():
    assert bpy.ops.posa.refresh_dependencies() == {"FINISHED"}
    assert prefs.cuda_text[-1].startswith(("available", "not available"))


def test_the_preferences_say_what_each_feature_needs_and_what_is_missing(monkeypatch):
    from test_bl_ui import RecordingLayout

    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert "tqdm" in deps.INSTALLED_BY_BUTTON and "libigl" in deps.INSTALLED_BY_BUTTON
    status = dict(deps.feature_status())
    assert status["Populate Scene"] == ["tqdm"] and status["Sample Contacts"] == []
    layout = RecordingLayout()
    owner = SimpleNamespace(layout=layout, smplx_path="", checkpoint="", site_packages="",
                            variant="CPU")
    prefs.PosaPreferences.draw(owner, bpy.context)
    text = layout.text()
    for feature in ("Add Body", "Sample Contacts", "Guess Classes", "Populate Scene"):
        assert feature in text
    assert "missing: tqdm" in text
    assert "ready (numpy, torch, scipy, posa_model)" in text  # Sample Contacts, Guess Classes
    assert "Installs torch, scipy, smplx, libigl, tqdm" in text
