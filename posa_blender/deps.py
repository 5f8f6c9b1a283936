"""Runtime dependencies inside Blender: what is found, where to look, and how to install it.

Pure Python (no ``bpy``): the preferences and operators pass in the paths and flags they read
from Blender. Blender ships numpy; PyTorch, SciPy, smplx, libigl (scene distances, for
Populate Scene) and tqdm (placement's progress) are not shipped with the extension (torch,
scipy and libigl are platform-specific binaries, smplx's licence forbids redistribution), so
the user either points the add-on at an existing site-packages folder of the same Python minor
version, or clicks "Install Dependencies", which runs Blender's own Python with pip into the
extension's user directory.

:data:`FEATURES` says what each feature needs; ``tests/blender/test_bl_extension.py`` runs the
features with only Blender's numpy and what the button installs on ``sys.path`` and checks that
every module posa_model loads for a feature is declared there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_NUMPY, _TORCH, _SCIPY = ("numpy", "numpy"), ("torch", "torch"), ("scipy", "scipy")
_SMPLX, _IGL, _TQDM = ("smplx", "smplx"), ("igl", "libigl"), ("tqdm", "tqdm")
_POSA = ("posa_model", "posa_model")
#: (import name, distribution name) of what each feature of the add-on needs at run time
#: (Populate Scene's list holds for Populate Selected, Regenerate and Refine Placement too;
#: Guess Classes needs torch and scipy because ``posa_model.scene`` loads them).
FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    "Add Body": (_NUMPY, _TORCH, _SCIPY, _SMPLX, _POSA),
    "Sample Contacts": (_NUMPY, _TORCH, _SCIPY, _POSA),
    "Guess Classes": (_NUMPY, _TORCH, _SCIPY, _POSA),
    "Populate Scene": (_NUMPY, _TORCH, _SCIPY, _SMPLX, _IGL, _TQDM, _POSA),
}
#: (import name, distribution name) of every module posa_model needs at run time.
RUNTIME_MODULES: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys(m for needs in FEATURES.values() for m in needs))
#: What "Install Dependencies" installs (numpy is Blender's own; posa_model ships as a wheel).
INSTALLED_BY_BUTTON: tuple[str, ...] = ("torch", "scipy", "smplx", "libigl", "tqdm")
#: PyTorch's own package indexes; the CPU one keeps pip from pulling gigabytes of CUDA libraries.
TORCH_INDEX = {
    "CPU": "https://download.pytorch.org/whl/cpu",
    "CUDA": "https://download.pytorch.org/whl/cu126",
}
PYPI_INDEX = "https://pypi.org/simple"
#: Installed into ``<extension user dir>/site-packages``.
USER_SITE_DIRNAME = "site-packages"

_PYTHON_IN_PATH = re.compile(r"python(\d+)\.(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class DependencyStatus:
    """One runtime module: whether Python can import it, its version, and where it lives."""

    module: str
    found: bool
    version: str = ""
    location: str = ""


def dependency_status(
    modules: Iterable[tuple[str, str]] = RUNTIME_MODULES,
) -> list[DependencyStatus]:
    """Status of each module without importing it (cheap enough to call from ``draw``).

    A module set to ``None`` in ``sys.modules`` (Python's way of blocking an import) counts as
    missing.
    """
    result = []
    for module, dist in modules:
        spec = _find_spec(module)
        if spec is None:
            result.append(DependencyStatus(module, False))
            continue
        loaded = sys.modules.get(module)
        version = str(getattr(loaded, "__version__", "")) if loaded is not None else ""
        if not version:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                version = "?"
        origin = spec.origin or (list(spec.submodule_search_locations or [""])[0])
        result.append(DependencyStatus(module, True, version, str(origin or "")))
    return result


def missing_modules(modules: Iterable[tuple[str, str]] = RUNTIME_MODULES) -> list[str]:
    """Import names of the runtime modules Python cannot find (no version lookups: panels call
    this on every redraw)."""
    return [module for module, _ in modules if _find_spec(module) is None]


def feature_modules(feature: str) -> tuple[tuple[str, str], ...]:
    """(import name, distribution name) of what ``feature`` (a key of :data:`FEATURES`) needs."""
    return FEATURES[feature]


def feature_status() -> list[tuple[str, list[str]]]:
    """(feature, the import names it misses) for every feature (cheap: for ``draw``)."""
    return [(feature, missing_modules(needs)) for feature, needs in FEATURES.items()]


def missing_message(missing: Sequence[str]) -> str:
    """What is missing and how to get it, for reports and the panel."""
    return (
        f"Missing Python modules: {', '.join(missing)}. Open Edit > Preferences > Add-ons > "
        "POSA Contacts and click 'Install Dependencies' (needs Allow Online Access), or set "
        "'Site-packages' to an environment with the same Python version as Blender "
        f"({sys.version_info.major}.{sys.version_info.minor}) that has them, then restart Blender."
    )


def cuda_status() -> str:
    """"available (<device name>)", "not available (...)" or "unknown (torch not imported yet)".

    Imports nothing: when torch is not loaded yet the answer is "unknown" (see
    :func:`probe_cuda`), so drawing the preferences never stalls on ``import torch``.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return "unknown (torch not loaded yet; press Refresh)"
    return _cuda_text(torch)


def probe_cuda() -> str:
    """Import torch (if it can be found) and say whether CUDA is usable."""
    if _find_spec("torch") is None:
        return "not available (torch is not installed)"
    try:
        import torch
    except (ImportError, OSError) as exc:  # a broken install: missing shared libraries
        return f"not available (import torch failed: {exc})"
    return _cuda_text(torch)


def _cuda_text(torch) -> str:
    try:
        if torch.cuda.is_available():
            return f"available ({torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda})"
    except (RuntimeError, AssertionError) as exc:
        return f"not available ({exc})"
    built = getattr(torch.version, "cuda", None)
    why = "no CUDA device or driver" if built else "this torch build has no CUDA"
    return f"not available ({why}; torch {torch.__version__})"


def _find_spec(module: str):
    if module in sys.modules and sys.modules[module] is None:
        return None
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# site-packages folders


def python_version_of_path(path: str | os.PathLike) -> tuple[int, int] | None:
    """The Python (major, minor) a site-packages path names (``.../python3.11/site-packages``)."""
    matches = list(_PYTHON_IN_PATH.finditer(str(path)))
    if not matches:
        return None
    return int(matches[-1].group(1)), int(matches[-1].group(2))


def check_site_packages(path: str | os.PathLike) -> str | None:
    """None when ``path`` is a usable site-packages folder, else why not (one line)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return f"{folder}: not a folder"
    version = python_version_of_path(folder)
    here = sys.version_info[:2]
    if version is not None and version != here:
        return (
            f"{folder}: made for Python {version[0]}.{version[1]}, but Blender runs Python "
            f"{here[0]}.{here[1]}; use an environment with Python {here[0]}.{here[1]}"
        )
    return None


def add_to_sys_path(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Append the usable folders among ``paths`` to ``sys.path``; return those it added.

    Appended, not prepended: Blender's own modules (numpy) keep precedence.
    """
    added = []
    for path in paths:
        if not str(path):
            continue
        folder = str(Path(path).expanduser().resolve())
        if folder in sys.path or check_site_packages(folder) is not None:
            continue
        sys.path.append(folder)
        added.append(folder)
    if added:
        importlib.invalidate_caches()
    return added


def remove_from_sys_path(paths: Iterable[str]) -> None:
    """Undo :func:`add_to_sys_path` (at unregister)."""
    for folder in paths:
        while folder in sys.path:
            sys.path.remove(folder)


# --------------------------------------------------------------------------------------------
# installing


@dataclass(frozen=True)
class InstallPlan:
    """The pip command "Install Dependencies" runs, and where it installs."""

    command: tuple[str, ...]
    target: str

    def shell_text(self) -> str:
        """The command as one line a user can paste into a terminal."""
        return " ".join(_quote(part) for part in self.command)


def install_plan(python: str, target: str | os.PathLike, variant: str = "CPU",
                 platform: str = sys.platform, numpy_version: str | None = None) -> InstallPlan:
    """pip command installing :data:`INSTALLED_BY_BUTTON` into ``target`` with ``python``.

    Args:
        python: Blender's Python executable (``sys.executable`` inside Blender).
        target: folder to install into (the extension's user ``site-packages``).
        variant: "CPU" or "CUDA": which PyTorch build. macOS has no CUDA build; there "CPU" and
            "CUDA" both take PyTorch from PyPI (its macOS wheels are the CPU/MPS build).
        numpy_version: pinned so pip resolves scipy and torch against the numpy Blender ships
            (defaults to the numpy importable here).
    """
    if variant not in TORCH_INDEX:
        raise ValueError(f"variant: expected one of {tuple(TORCH_INDEX)}, found {variant!r}")
    if numpy_version is None:
        import numpy

        numpy_version = numpy.__version__
    command = [python, "-m", "pip", "install", "--upgrade", "--target", str(target),
               "--disable-pip-version-check", "--no-warn-script-location", "--prefer-binary"]
    if platform != "darwin":
        command += ["--index-url", TORCH_INDEX[variant], "--extra-index-url", PYPI_INDEX]
    command += [*INSTALLED_BY_BUTTON, f"numpy=={numpy_version}"]
    return InstallPlan(tuple(command), str(target))


def start_install(plan: InstallPlan, log_path: str | os.PathLike) -> subprocess.Popen:
    """Start pip for ``plan`` in the background, writing its output to ``log_path``."""
    Path(plan.target).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    with open(log_path, "w", encoding="utf-8") as log:  # the child keeps its own handle
        return subprocess.Popen(plan.command, stdout=log, stderr=subprocess.STDOUT, env=env)


def install_result(returncode: int, log_path: str | os.PathLike) -> str | None:
    """None when pip succeeded, else the end of its log (for the report)."""
    if returncode == 0:
        importlib.invalidate_caches()
        return None
    try:
        tail = Path(log_path).read_text(encoding="utf-8", errors="replace")[-600:]
    except OSError:
        tail = ""
    return f"pip exited with status {returncode} (log: {log_path}): {tail.strip()}"


def _quote(part: str) -> str:
    return f'"{part}"' if (" " in part or not part) else part
