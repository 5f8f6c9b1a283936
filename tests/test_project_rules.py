"""Project rules that a linter alone would not guarantee."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posa_model.io_utils import atomic_savez, atomic_write

ROOT = Path(__file__).resolve().parent.parent
BLENDER_MODULES = {"bpy", "bmesh", "mathutils", "bpy_extras", "gpu", "bl_math"}


def test_posa_model_never_imports_blender():
    offenders = []
    for path in (ROOT / "posa_model").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in BLENDER_MODULES]
    assert not offenders, offenders


@pytest.mark.slow
def test_importing_posa_model_pulls_in_no_blender_module():
    code = ("import sys, posa_model, posa_model.sample, posa_model.reference; "
            f"print(sorted(set(sys.modules) & set({sorted(BLENDER_MODULES)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(package: str = "posa_model") -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at module level or inside functions
    (``if TYPE_CHECKING`` blocks too). Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so
    that package counts as imported too, unless it is a package of the importer itself."""
    files = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for module, path in files.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        own = {".".join(here[:i]) for i in range(1, len(here) + 1)}
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1]) if node.level else ""
                stem = ".".join(p for p in (base, node.module or "") if p)
                targets.update(f"{stem}.{a.name}" if f"{stem}.{a.name}" in files else stem
                               for a in node.names)
        edges = set()
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name in files and name not in own and name != module:
                    edges.add(name)
        graph[module] = edges
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_circle_finder_finds_circles():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_posa_model_has_no_import_circles():
    graph = _imports()
    assert "posa_model.place" in graph and graph["posa_model.place"], "the import graph is empty"
    circles = [[f"{m} -> {sorted(graph[m] & set(c))}" for m in c] for c in _circles(graph)]
    assert not circles, circles


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_savez_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="object array"):
        atomic_savez(tmp_path / "x.npz", bad=np.array([{"a": 1}], dtype=object))
    path = atomic_savez(tmp_path / "x.npz", good=np.arange(3))
    with np.load(path, allow_pickle=False) as data:
        assert data["good"].tolist() == [0, 1, 2]


def test_importing_posa_model_is_light():
    code = "import sys, posa_model; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_atomic_write_gives_normal_permissions(tmp_path):
    path = atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    assert path.stat().st_mode & 0o044 == 0o044, "group/other cannot read the written file"
