"""Panels and preferences draw in every state (headless Blender never draws them itself)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from bl_helpers import ADDON, bpy, select_only

from posa_blender import prefs, ui


class RecordingLayout:
    """Stands in for ``bpy.types.UILayout``: records label texts, accepts every call."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.log = [] if log is None else log

    def label(self, text: str = "", **_kwargs) -> None:
        self.log.append(text)

    def panel(self, *_args, **_kwargs):
        return RecordingLayout(self.log), RecordingLayout(self.log)

    def operator(self, idname: str, **_kwargs):
        self.log.append(f"[{idname}]")
        return SimpleNamespace()

    def __getattr__(self, name: str):
        def method(*_args, **_kwargs):
            return RecordingLayout(self.log)

        return method

    def text(self) -> str:
        return "\n".join(self.log)


def draw(panel_class, context=None) -> str:
    layout = RecordingLayout()
    owner = SimpleNamespace(layout=layout)
    panel_class.draw(owner, context or bpy.context)
    return layout.text()


def test_panels_live_in_the_posa_tab():
    for panel in ui.classes:
        assert panel.bl_space_type == "VIEW_3D" and panel.bl_region_type == "UI"
        assert panel.bl_category == "POSA"
    assert ui.POSA_PT_legend.bl_parent_id == "POSA_PT_contacts"


def test_without_torch_the_body_panel_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    text = draw(ui.POSA_PT_body)
    assert "Missing: torch" in text and "Install Dependencies" in text
    assert "[posa.add_body]" in text


def test_panels_with_a_body_and_contacts(body):
    select_only(body.mesh)
    text = draw(ui.POSA_PT_body)
    assert "[posa.apply_preset]" in text and "[posa.load_pose_file]" in text
    assert "No contacts sampled" in draw(ui.POSA_PT_legend)
    bpy.ops.posa.sample_contacts(n_samples=2, seed=0, device="CPU")
    contacts_text = draw(ui.POSA_PT_contacts)
    assert "2 sample(s), seed 0, cpu" in contacts_text
    if not body.mesh.posa.trained:
        assert "Untrained placeholder checkpoint" in contacts_text
    legend = draw(ui.POSA_PT_legend)
    assert "vertices in contact" in legend or "No vertex in contact" in legend


def test_preferences_draw_with_status_and_install_button():
    addon_prefs = bpy.context.preferences.addons[ADDON].preferences
    layout = RecordingLayout()
    owner = SimpleNamespace(layout=layout, smplx_path="", checkpoint="",
                            site_packages="/no/such/python3.2/site-packages", variant="CPU")
    prefs.PosaPreferences.draw(owner, bpy.context)
    text = layout.text()
    assert "numpy" in text and "torch" in text and "CUDA:" in text
    assert "[posa.install_dependencies]" in text
    assert "Allow Online Access" in text  # the bpy module runs offline
    assert "not a folder" in text
    assert addon_prefs.variant == "CPU"


@pytest.mark.parametrize("panel", ["POSA_PT_body", "POSA_PT_contacts", "POSA_PT_legend"])
def test_panels_draw_with_nothing_selected(panel):
    """(Names, not classes, as parameters: pytest keeps parameters alive until the process
    ends, and anything that keeps bpy alive then makes bpy 4.5.4 hang at exit.)"""
    select_only(None)
    draw(getattr(ui, panel))
