"""The one command-line layer every ``python -m posa_model.*`` entry point uses.

What it gives a ``main()``:

* :func:`run`: calls the command's work and turns the project's errors into
  ``<prog>: error: <message>`` on stderr with exit code 2 (argparse's own usage errors are 2
  too), I/O failures (disk full, permission) into the same line with exit code 1, and Ctrl-C
  into exit code 130. No raw traceback reaches the user for anything they can cause.
* argparse types that refuse absurd values before any work: :func:`int_range` (e.g. ``--n``),
  :data:`seed` (0..2**63-1; ``--seed 2**70`` is a usage error), :func:`device` (auto, cpu,
  cuda, cuda:N, mps; ``--device meta`` is a usage error), :func:`finite_float`.
* :func:`check_paths`: before any work, refuses an output that is one of the inputs (symlinks
  resolved, hard links caught with ``samefile``) or lies inside an input folder, an input that
  lies inside a folder the command replaces, an output that is a folder (or a folder output
  that is a file), and outputs whose folder cannot be written.
* :func:`check_pickle`: a ``.pkl`` body or pose file is unpickled (which runs code from the
  file) only with an explicit ``--allow-pickle``.
* :class:`OutputSet`: several output files written as one unit. Each file goes to a temporary
  sibling; when all are complete a journal listing them is written, then each is renamed into
  place and the journal removed. A kill before the journal leaves the old set; a kill after it
  is rolled forward by the next run that writes any of these paths (:func:`recover_outputs`),
  which also removes temporary files of dead runs (:func:`clean_stale_temps`).

Adopting it in a CLI (the placement CLI included)::

    from .. import cli

    def main(argv=None) -> int:
        parser = argparse.ArgumentParser(prog="python -m posa_model.place")
        parser.add_argument("--seed", type=cli.seed, default=0)
        parser.add_argument("--device", type=cli.device, default="auto")
        parser.add_argument("--bodies", type=cli.int_range(1, 1000), default=10)
        args = parser.parse_args(argv)
        return cli.run(parser.prog, lambda: _place(args))

    def _place(args) -> int:
        cli.check_pickle(args.body, args.allow_pickle, "--body")
        cli.check_paths(inputs=[args.scene, args.body, args.checkpoint, args.classes],
                        outputs=[args.out, args.metrics, args.npz])
        ...                                    # all the work, raising PosaError on user errors
        with cli.OutputSet([args.out, args.metrics, args.npz]) as outs:
            write_glb(outs.temp(args.out)); write_json(outs.temp(args.metrics)) ...
        return 0

Outputs passed as ``None`` (options not given) are skipped everywhere.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .errors import PosaError, UsageError

__all__ = ["MAX_SEED", "STALE_SECONDS", "OutputSet", "UsageError", "check_paths",
           "check_pickle", "clean_stale_temps", "device", "finite_float", "int_range",
           "recover_outputs", "run", "seed"]

#: Exit codes: a user error (ours or argparse's), an I/O failure, an interrupt.
EXIT_USAGE, EXIT_IO, EXIT_INTERRUPTED = 2, 1, 130
MAX_SEED = 2**63 - 1
#: ``atomic_write`` temporaries (``.<name>.<8 random>.tmp``, no owner pid in the name) older than
#: this are from a dead writer and are removed by :func:`clean_stale_temps`.
STALE_SECONDS = 3600.0
#: Marker in the names of this module's temporaries: ``.<name>.posa-<pid>-<hex>.tmp``.
_TAG = "posa"
_OURS = re.compile(r"^\.(?P<name>.+)\.posa-(?P<pid>\d{1,10})-[0-9a-f]{8}\.tmp$")
_JOURNAL = re.compile(r"^\.(?P<name>.+)\.posa-set-(?P<pid>\d{1,10})-[0-9a-f]{8}\.json$")
_ATOMIC = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")  # io_utils.atomic_write
MAX_JOURNAL_BYTES = 1 << 20

PathLike = str | os.PathLike


# =================================================================================== running
def run(prog: str, work: Callable[[], int | None]) -> int:
    """Call ``work()`` and return its exit code (None -> 0), turning failures into messages.

    PosaError -> ``<prog>: error: <message>`` on stderr, exit 2; OSError (disk full, a folder
    that became unwritable) -> the same with the file and reason, exit 1; KeyboardInterrupt ->
    exit 130. Anything else is a bug and propagates with its traceback.
    """
    try:
        code = work()
    except PosaError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if code is None else int(code)


# ============================================================================ argparse types
def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``lo..hi`` (inclusive), else a usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected an integer in {lo}..{hi}, found {text[:40]!r}")
        return value
    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


#: argparse type of ``--seed``: 0..2**63-1 (torch and numpy generators take int64 seeds).
seed = int_range(0, MAX_SEED)


def finite_float(lo: float = -math.inf, hi: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite float in ``[lo, hi]`` (NaN and infinities refused)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected a finite number in [{lo:g}, {hi:g}], found {text[:40]!r}")
        return value
    parse.__name__ = "float"
    return parse


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,4})?)$")


def device(text: str) -> str:
    """argparse type of ``--device``: auto, cpu, cuda, cuda:N or mps (``meta`` and the like,
    which torch accepts but nothing can run on, are usage errors)."""
    if not _DEVICE.match(text.strip().lower()):
        raise argparse.ArgumentTypeError(
            f"expected auto, cpu, cuda, cuda:N or mps, found {text[:40]!r}")
    return text.strip().lower()


# =================================================================================== checks
def check_pickle(path: PathLike | None, allow_pickle: bool, flag: str = "--body") -> None:
    """Refuse a ``.pkl`` file unless ``--allow-pickle`` was given (unpickling runs code)."""
    if path is None or allow_pickle:
        return
    if str(path).lower().endswith(".pkl"):
        raise UsageError(
            f"{flag} {path}: a .pkl file is read by unpickling it, which can run code from the "
            "file; pass --allow-pickle if you trust it, or use the .npz files of the SMPL-X "
            "download")


def _resolved(path: PathLike) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _inside(path: Path, folder: Path) -> bool:
    return path != folder and folder in path.parents


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _check_writable_parent(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise UsageError(f"{flag} {path}: {base} is not a folder, so it cannot be created")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {base} is not writable")


def _check_output_file(path: Path, flag: str) -> None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # the parent check says what is wrong
        st = None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{flag} {path}: cannot be accessed ({exc})") from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{flag} {path}: is a folder; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{flag} {path}: exists and is not a regular file")
    _check_writable_parent(path, flag)


def _check_output_dir(path: Path, flag: str) -> None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{flag} {path}: cannot be accessed ({exc})") from exc
    if st is None:
        _check_writable_parent(path, flag)
        return
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{flag} {path}: exists and is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder is not writable")


def _pairs(items) -> list[tuple[str, Path]]:
    """[(flag, path)] from paths or (flag, path) pairs; None entries dropped."""
    out = []
    for item in items:
        flag, path = item if isinstance(item, tuple) else ("output", item)
        if path is not None and str(path) != "":
            out.append((flag, Path(os.path.expanduser(os.fspath(path)))))
    return out


def check_paths(*, inputs: Iterable = (), outputs: Iterable = (), output_dirs: Iterable = (),
                replaced_dirs: Iterable = ()) -> None:
    """Refuse, before any work, command lines that would destroy an input or cannot write.

    Every argument is an iterable of paths or ``(flag, path)`` pairs (the flag names the option
    in messages); ``None`` paths are skipped.

    Args:
        inputs: files and folders the command reads.
        outputs: files it writes (replaced atomically).
        output_dirs: folders it writes files into (they must be, or become, writable folders).
        replaced_dirs: folders it replaces as a whole (an input inside one is refused).

    Raises:
        UsageError: naming the option, the path and the conflict.
    """
    ins = [(flag, path, _resolved(path)) for flag, path in _pairs(inputs)]
    outs = _pairs(outputs)
    dirs = _pairs(output_dirs)
    replaced = _pairs(replaced_dirs)
    for flag, path in dirs + replaced:
        _check_output_dir(path, flag)
    for flag, path in outs:
        _check_output_file(path, flag)
    for flag, path in outs + dirs + replaced:
        real = _resolved(path)
        for in_flag, in_path, in_real in ins:
            if real == in_real or _same_file(path, in_path):
                raise UsageError(f"{flag} {path} is the input {in_flag} {in_path}; refusing to "
                                 "overwrite an input: write somewhere else")
            if in_real.is_dir() and _inside(real, in_real):
                raise UsageError(f"{flag} {path} lies inside the input folder {in_flag} "
                                 f"{in_path}; write outside it")
    for flag, path in replaced:
        real = _resolved(path)
        for in_flag, in_path, in_real in ins:
            if _inside(in_real, real):
                raise UsageError(f"{in_flag} {in_path} lies inside {flag} {path}, which this "
                                 "command replaces; move the input out first")
    seen: dict[Path, str] = {}
    for flag, path in outs:
        real = _resolved(path)
        if real in seen:
            raise UsageError(f"{flag} and {seen[real]} name the same file {path}")
        seen[real] = flag


# ============================================================================ temporaries
def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still run (POSIX only; elsewhere always True: keep files)."""
    if os.name != "posix" or pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def temp_name(path: PathLike) -> Path:
    """A fresh temporary sibling of ``path`` owned by this process:
    ``.<name>.posa-<pid>-<hex>.tmp`` (removed by :func:`clean_stale_temps` once the pid is dead)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{_TAG}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def clean_stale_temps(paths: Iterable[PathLike | None], *, locked: bool = False) -> list[Path]:
    """Remove temporaries of dead writers beside each output path; returns what was removed.

    For an output ``X``: ``.X.posa-<pid>-<hex>.tmp`` of a dead pid (this module's), and
    ``.X.<8 chars>.tmp`` (:func:`posa_model.io_utils.atomic_write`'s) when older than
    :data:`STALE_SECONDS` or, with ``locked`` (the caller holds the lock of that folder, so no
    live writer can own one), at any age. Journals are left to :func:`recover_outputs`.
    Only regular files whose names match exactly are removed.
    """
    removed = []
    now = time.time()
    for path in paths:
        if path is None:
            continue
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        prefix = f".{path.name}."
        try:
            names = [n for n in os.listdir(folder) if n.startswith(prefix)]
        except OSError:  # folder missing or unreadable: nothing of ours there
            continue
        for name in names:
            candidate = folder / name
            ours, atomic = _OURS.match(name), _ATOMIC.match(name)
            if ours and ours["name"] == path.name:
                stale = not _pid_alive(int(ours["pid"]))
            elif atomic and atomic["name"] == path.name:
                try:
                    age = now - os.lstat(candidate).st_mtime
                except OSError:
                    continue
                stale = locked or age > STALE_SECONDS
            else:
                continue
            try:
                if stale and stat.S_ISREG(os.lstat(candidate).st_mode):
                    candidate.unlink()
                    removed.append(candidate)
            except OSError:  # gone meanwhile, or not ours to remove
                continue
    return removed


# =================================================================================== output set
def _journal_entries(journal: Path) -> list[tuple[Path, Path]] | None:
    """The (temp, final) pairs of a journal, or None when it is not a valid journal of ours."""
    from .io_utils import read_json_bounded

    try:
        data = read_json_bounded(journal, "output journal", max_bytes=MAX_JOURNAL_BYTES)
    except PosaError:
        return None
    if not isinstance(data, dict) or data.get("format") != "posa_model.output_set":
        return None
    pairs = []
    for item in data.get("files", []):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(p, str)
                                                                   for p in item)):
            return None
        temp, final = Path(item[0]), Path(item[1])
        match = _OURS.match(temp.name)
        # only our own temporaries, each renamed onto the file it was made for
        if temp.parent != final.parent or not match or match["name"] != final.name:
            return None
        pairs.append((temp, final))
    return pairs


def recover_outputs(paths: Iterable[PathLike | None]) -> list[Path]:
    """Finish output sets a killed run committed, and remove dead runs' temporaries.

    For every journal ``.X.posa-set-<pid>-<hex>.json`` beside one of ``paths`` whose pid is
    dead: each listed temporary that still exists is renamed onto its file (roll forward), then
    the journal is removed. Returns the files so completed.
    """
    paths = [Path(p) for p in paths if p is not None]
    completed: list[Path] = []
    folders = {p.parent if str(p.parent) else Path(".") for p in paths}
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _JOURNAL.match(name)
            if not match or _pid_alive(int(match["pid"])):
                continue
            journal = folder / name
            entries = _journal_entries(journal)
            if entries is None:
                continue  # not ours: leave it
            for temp, final in entries:
                if os.path.lexists(temp):
                    os.replace(temp, final)
                    completed.append(final)
            journal.unlink(missing_ok=True)
    clean_stale_temps(paths)
    return completed


class OutputSet:
    """Write several output files as one unit (see the module docstring).

        with OutputSet([glb, metrics]) as outs:
            scene.export(outs.temp(glb)); outs.temp(metrics).write_text(text)

    ``temp(final)`` is the path to write ``final``'s content to. On leaving the block without
    an error every temporary is fsynced, the journal written, the files renamed into place and
    the journal removed; on an error the temporaries are deleted and nothing changes.
    """

    def __init__(self, paths: Sequence[PathLike | None]):
        self.finals = [Path(p) for p in paths if p is not None]
        if not self.finals:
            raise ValueError("OutputSet needs at least one path")
        self._temps: dict[Path, Path] = {}

    def __enter__(self) -> OutputSet:
        recover_outputs(self.finals)
        for final in self.finals:
            final.parent.mkdir(parents=True, exist_ok=True)
            self._temps[final] = temp_name(final)
        return self

    def temp(self, final: PathLike) -> Path:
        """Where to write ``final``'s content inside the block."""
        return self._temps[Path(final)]

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            missing = [str(f) for f, t in self._temps.items() if not t.is_file()]
            if missing:
                raise PosaError(f"output set: nothing was written for {missing}")
            for temp in self._temps.values():
                _fsync_file(temp)
            first = self.finals[0]
            journal = first.with_name(f".{first.name}.posa-set-{os.getpid()}-"
                                      f"{secrets.token_hex(4)}.json")
            text = json.dumps({"format": "posa_model.output_set", "files": [
                [str(t.resolve()), str(f.resolve())] for f, t in self._temps.items()]})
            with open(journal, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            self._discard()
            raise
        for final, temp in self._temps.items():  # committed: a kill here is rolled forward
            os.replace(temp, final)
        journal.unlink()

    def _discard(self) -> None:
        for temp in self._temps.values():
            temp.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
