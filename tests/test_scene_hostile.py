"""Hostile scene and classes files: every one is a PosaError naming the file, none blocks,
crashes, loops or allocates what the file merely declares (issue 12, scene part)."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import trimesh

from posa_model.errors import PosaError
from posa_model.scene import build_scene_grid, load_scene, scene_grid_from_file

pytestmark = pytest.mark.timeout(60)


def test_obj_whose_only_triangle_has_three_equal_corners(tmp_path):
    """Welding left no face: libigl's AABB tree segfaulted on the empty soup."""
    path = tmp_path / "dot.obj"
    path.write_text("o Dot\nv 1 2 3\nv 1 2 3\nv 1 2 3\nf 1 2 3\n")
    with pytest.raises(PosaError, match=r"dot\.obj: the scene has no triangle meshes with area.*"
                                        r"'Dot': dropped, all 1 triangles are degenerate"):
        load_scene(path)
    with pytest.raises(PosaError, match=r"dot\.obj"):
        scene_grid_from_file(path)
    path.write_text("o Dot\nv 1 2 3\nv 1 2 3\nv 1 2 3\nf 1 2 3\n"
                    "o Chair\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 4 6 5\nf 4 5 7\nf 4 7 6\n"
                    "f 5 6 7\n")
    scene = load_scene(path)
    assert [o.name for o in scene.objects] == ["Chair"]
    assert "note: object 'Dot': dropped" in scene.report


@pytest.mark.parametrize("role", ["scene", "classes"])
def test_fifo_is_refused_without_blocking(tmp_path, role):
    fifo = tmp_path / ("scene.obj" if role == "scene" else "classes.json")
    os.mkfifo(fifo)
    good = tmp_path / "good.obj"
    good.write_text("o Chair\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(PosaError, match=rf"{fifo.name}: .*must be a regular file, found a FIFO"):
        if role == "scene":
            load_scene(fifo)
        else:
            load_scene(good, classes=fifo)
    with pytest.raises(PosaError, match="character device"):
        load_scene("/dev/zero") if role == "scene" else load_scene(good, classes="/dev/zero")


def test_a_vertex_a_million_kilometres_away_is_refused_naming_its_object(tmp_path):
    path = tmp_path / "far.obj"
    path.write_text("o Chair\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
                    "o Stray\nv 0 0 0\nv 1000000000 0 0\nv 0 1 0\nf 4 5 6\n")
    with pytest.raises(PosaError, match=r"far\.obj: the scene spans 1e\+09 m, over the 1000 m "
                                        r"limit: object 'Stray'"):
        load_scene(path)


def test_declared_triangle_counts_are_bounded_before_reading(tmp_path):
    obj = tmp_path / "many.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n" + "f 1 2 3\n" * 50)
    with pytest.raises(PosaError, match=r"many\.obj: face statements: the file declares 50 "
                                        r"triangles, over the limit of 10"):
        load_scene(obj, max_triangles=10)
    ply = tmp_path / "liar.ply"
    ply.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n"
                    b"property float y\nproperty float z\nelement face 4000000000\n"
                    b"property list uchar int vertex_indices\nend_header\n" + bytes(36))
    with pytest.raises(PosaError, match=r"liar\.ply: header: element face: the file declares "
                                        r"4,000,000,000 triangles"):
        load_scene(ply)
    ply.write_bytes(ply.read_bytes().replace(b"4000000000", b"1000"))
    with pytest.raises(PosaError, match=r"liar\.ply: PLY header declares 1,036 bytes of data at "
                                        r"least, the file holds 36"):
        load_scene(ply)
    glb = _glb({"asset": {"version": "2.0"}, "nodes": [{"name": "Big", "mesh": 0}],
                "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
                "accessors": [{"componentType": 5126, "count": 3, "type": "VEC3"},
                              {"componentType": 5125, "count": 3 * 10**9, "type": "SCALAR"}]})
    (tmp_path / "big.glb").write_bytes(glb)
    with pytest.raises(PosaError, match=r"big\.glb: accessors\[1\]\.count: the file declares "
                                        r"3,000,000,000 items"):
        load_scene(tmp_path / "big.glb")
    two = _glb({"asset": {"version": "2.0"}, "nodes": [{"name": "Two", "mesh": 0}],
                "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}] * 2}],
                "accessors": [{"componentType": 5126, "count": 3, "type": "VEC3"},
                              {"componentType": 5125, "count": 1800, "type": "SCALAR"}]})
    (tmp_path / "two.glb").write_bytes(two)
    with pytest.raises(PosaError, match=r"two\.glb: accessors: the file declares 1,200 "
                                        r"triangles, over the limit of 1,000"):
        load_scene(tmp_path / "two.glb", max_triangles=1000)
    instanced = _glb({"asset": {"version": "2.0"},
                      "nodes": [{"name": f"Chair.{k}", "mesh": 0} for k in range(20)],
                      "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
                      "accessors": [{"componentType": 5126, "count": 3000, "type": "VEC3"}]})
    (tmp_path / "instanced.glb").write_bytes(instanced)
    with pytest.raises(PosaError, match=r"accessors, counted per node: the file declares 20,000 "
                                        r"triangles, over the limit of 10,000"):
        load_scene(tmp_path / "instanced.glb", max_triangles=10_000)


def _glb(header: dict, binary: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary:
        chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"Chair": ' + "[" * 70 + "]" * 70 + "}", "nested more than 64 levels"),
    (b'{"Chair": "\xff\xfe"}', "not valid UTF-8"),
    ('{"Chair": ' + "7" * 5001 + "}", "not valid JSON"),
])  # fmt: skip
def test_hostile_classes_json_names_the_file(tmp_path, content, message):
    path = tmp_path / "classes.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    good = tmp_path / "good.obj"
    good.write_text("o Chair\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(PosaError, match=rf"classes\.json: .*{message}"):
        load_scene(good, classes=path)


def _gltf_with_buffer(uri: str) -> dict:
    return {"asset": {"version": "2.0"}, "scenes": [{"nodes": [0]}],
            "nodes": [{"name": "Chair", "mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "buffers": [{"uri": uri, "byteLength": 36}],
            "bufferViews": [{"buffer": 0, "byteLength": 36}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                           "min": [0, 0, 0], "max": [1, 1, 0]}]}


@pytest.mark.parametrize("uri", ["../secret.bin", "%2E%2E/secret.bin", "/etc/passwd",
                                 "file:///etc/passwd", "http://example.com/x.bin",
                                 "sub/../../secret.bin"])
def test_gltf_buffer_outside_its_folder_is_refused(tmp_path, uri):
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "sub").mkdir()
    triangle = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32).tobytes()
    (tmp_path / "secret.bin").write_bytes(triangle)
    path = folder / "room.gltf"
    path.write_text(json.dumps(_gltf_with_buffer(uri)))
    with pytest.raises(PosaError, match=r"room\.gltf: buffers\[0\]\.uri: expected a file inside "
                                        r".*outside the scene's folder; refused"):
        load_scene(path)
    (folder / "inside.bin").write_bytes(triangle)
    path.write_text(json.dumps(_gltf_with_buffer("inside.bin")))
    assert [o.name for o in load_scene(path).objects] == ["Chair"]


def test_installed_trimesh_refuses_buffers_outside_the_folder_too(tmp_path):
    """pyproject requires trimesh >= 5.0: 4.x read '../../etc/passwd' through a buffer URI."""
    from trimesh.resolvers import FilePathResolver

    (tmp_path / "secret.bin").write_bytes(b"x")
    (tmp_path / "scene").mkdir()
    resolver = FilePathResolver(str(tmp_path / "scene" / "room.gltf"))
    with pytest.raises(ValueError, match="escapes resolver root"):
        resolver.get("../secret.bin")
    assert int(trimesh.__version__.split(".")[0]) >= 5


def test_gltf_buffer_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe.bin")
    path = tmp_path / "room.gltf"
    path.write_text(json.dumps(_gltf_with_buffer("pipe.bin")))
    with pytest.raises(PosaError, match=r"buffers\[0\]\.uri: 'pipe\.bin' is not a regular file"):
        load_scene(path)


@pytest.mark.parametrize("change, message", [
    (lambda g: g["nodes"].append({"name": "Loop", "children": [2]}) or g["nodes"].append(
        {"name": "Back", "children": [1]}), "in a cycle of children"),
    (lambda g: g["nodes"].extend([{"children": [0]}, {"children": [0]}]),
     r"nodes\[0\]: listed as a child of nodes 1 and 2"),
    (lambda g: g["nodes"][0].update(mesh=7), r"nodes\[0\]\.mesh: expected a mesh index"),
    (lambda g: g["nodes"][0].update(matrix=[1, 0]), r"nodes\[0\]\.matrix: expected 16 finite"),
    (lambda g: g["nodes"][0].update(rotation=[0, 0, 0, 0]), r"rotation: expected a unit"),
    (lambda g: g.update(asset={"version": "1.0"}), r"asset\.version: expected glTF 2"),
    (lambda g: g.update(extensionsRequired=["KHR_draco_mesh_compression"]), "cannot be read"),
    (lambda g: g["accessors"][0].update(count=-1), r"accessors\[0\]\.count"),
])  # fmt: skip
def test_malformed_gltf_names_the_field(tmp_path, change, message):
    gltf = _gltf_with_buffer("inside.bin")
    (tmp_path / "inside.bin").write_bytes(np.eye(3, dtype=np.float32).tobytes())
    change(gltf)
    path = tmp_path / "room.gltf"
    path.write_text(json.dumps(gltf))
    with pytest.raises(PosaError, match=rf"room\.gltf: .*{message}"):
        load_scene(path)


def test_truncated_and_garbled_files_name_the_file(tmp_path):
    box = trimesh.creation.box()
    data = box.export(file_type="ply", encoding="binary")
    (tmp_path / "cut.ply").write_bytes(data[:-20])
    with pytest.raises(PosaError, match=r"cut\.ply: PLY"):
        load_scene(tmp_path / "cut.ply")
    (tmp_path / "words.obj").write_text("v 0 0 zero\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(PosaError, match=r"words\.obj: 'v' statements: expected numbers"):
        load_scene(tmp_path / "words.obj")
    (tmp_path / "index.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    with pytest.raises(PosaError, match=r"index\.obj: object 'index': face index 9 is outside"):
        load_scene(tmp_path / "index.obj")
    glb = box.export(file_type="glb")
    (tmp_path / "cut.glb").write_bytes(glb[: len(glb) // 2])
    with pytest.raises(PosaError, match=r"cut\.glb"):
        load_scene(tmp_path / "cut.glb")


def test_scene_grid_of_a_degenerate_object_among_others_is_built():
    from posa_model.scene import MeshObject

    box = trimesh.creation.box()
    dot = MeshObject("Dot", np.ones((3, 3)), [[0, 1, 2]])
    grid = build_scene_grid([MeshObject("Box", box.vertices, box.faces, 3), dot], resolution=0.1)
    assert grid.lookup(np.zeros((1, 3)))[0] < 0
