"""The last link of a user's own-body chain (issue 12): a body of another topology than the
stand-in's and the checkpoint trained for it (``tests/other_topology.py``: convert --body,
synthesize --body, train) used by Add Body, Sample Contacts and Populate Scene in bpy; the
shipped checkpoint refuses that body."""

from __future__ import annotations

import numpy as np
import pytest
from bl_helpers import ADDON, bpy, select_only

from posa_blender import arrays

torch = pytest.importorskip("torch")
pytest.importorskip("igl")
from bl_rooms import bodies  # noqa: E402

from tests.other_topology import train_for_variant  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return train_for_variant(tmp_path_factory.mktemp("variant"), epochs=8)


def _use(chain, checkpoint: bool = True) -> None:
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.checkpoint = str(chain["checkpoint"]) if checkpoint else ""


def test_sample_contacts_on_the_variant_body(chain):
    _use(chain)
    assert bpy.ops.posa.add_body(model="SMPLX", model_path=str(chain["body"])) == {"FINISHED"}
    mesh = bpy.context.active_object
    assert len(mesh.data.vertices) == 10999 and len(mesh.data.polygons) == 21994
    select_only(mesh)
    assert bpy.ops.posa.sample_contacts(n_samples=2, seed=0, device="CPU") == {"FINISHED"}
    contact = arrays.point_attribute(mesh.data, "posa_contact_1")
    assert contact.shape == (10999,) and np.isfinite(contact).all()
    _use(chain, checkpoint=False)  # the shipped checkpoint: the stand-in's mesh only
    with pytest.raises(RuntimeError, match="not a supported body|is not the mesh"):
        bpy.ops.posa.sample_contacts(device="CPU")


def test_populate_scene_with_the_variant_body(chain, room):
    _use(chain)
    assert bpy.ops.posa.populate_scene(people="sit:1,stand:1", seed=0, device="CPU",
                                       model="SMPLX", model_path=str(chain["body"])
                                       ) == {"FINISHED"}
    placed = bodies()
    assert len(placed) >= 1
    assert all(len(o.data.vertices) == 10999 for o in placed)
    _use(chain, checkpoint=False)
    count = len(bodies())
    with pytest.raises(RuntimeError, match="10999"):
        bpy.ops.posa.populate_scene(people="stand:1", seed=1, device="CPU", model="SMPLX",
                                    model_path=str(chain["body"]))
    assert len(bodies()) == count
