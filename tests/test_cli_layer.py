"""The command-line layer (posa_model/cli.py) and the issue-12 reproducers it fixes.

Every CLI maps the project's errors to ``error: ...`` with exit 2, refuses before any work an
output that is an input or cannot be written, bounds counts, seeds and devices, unpickles only
with --allow-pickle, and writes multi-file outputs as one unit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from posa_model import cli
from posa_model.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


# ---- run ------------------------------------------------------------------------------------


def test_run_maps_errors_to_messages_and_exit_codes(capsys):
    assert cli.run("prog", lambda: None) == 0
    assert cli.run("prog", lambda: 3) == 3

    def user_error():
        raise CheckpointError("c.pt: field 'meta' must be a dict")

    assert cli.run("prog", user_error) == 2
    assert capsys.readouterr().err == "prog: error: c.pt: field 'meta' must be a dict\n"

    def disk_full():
        raise OSError(28, "No space left on device", "out.ply")

    assert cli.run("prog", disk_full) == 1
    assert capsys.readouterr().err == "prog: error: out.ply: No space left on device\n"

    def bug():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        cli.run("prog", bug)


def test_argument_types_refuse_absurd_values():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=cli.seed)
    parser.add_argument("--device", type=cli.device)
    parser.add_argument("--n", type=cli.int_range(1, 64))
    parser.add_argument("--x", type=cli.finite_float(0, 1))
    ok = parser.parse_args(["--seed", str(2**63 - 1), "--device", "CUDA:1", "--n", "64",
                            "--x", "0.5"])
    assert (ok.seed, ok.device, ok.n, ok.x) == (2**63 - 1, "cuda:1", 64, 0.5)
    for bad in (["--seed", str(2**70)], ["--seed", "-1"], ["--device", "meta"],
                ["--device", "cuda:x"], ["--n", "100000"], ["--n", "0"], ["--x", "nan"],
                ["--x", "inf"], ["--seed", "9" * 5000]):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(bad)
        assert info.value.code == 2, bad


# ---- paths ------------------------------------------------------------------------------------


def test_check_paths_refuses_inputs_as_outputs(tmp_path):
    model = tmp_path / "M.npz"
    model.write_bytes(b"model")
    link = tmp_path / "link.npz"
    link.symlink_to(model)
    hard = tmp_path / "hard.npz"
    os.link(model, hard)
    for out in (model, link, hard, tmp_path / "sub" / ".." / "M.npz"):
        with pytest.raises(cli.UsageError, match="refusing to overwrite an input"):
            cli.check_paths(inputs=[("--body", model)], outputs=[("--out", out)])
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(cli.UsageError, match="inside the input folder"):
        cli.check_paths(inputs=[("--data", data)], outputs=[("--out", data / "m.json")])
    with pytest.raises(cli.UsageError, match="which this command replaces"):
        cli.check_paths(inputs=[("--body", data / "b.npz")], replaced_dirs=[("--out", data)])
    with pytest.raises(cli.UsageError, match="name the same file"):
        cli.check_paths(outputs=[("--out", tmp_path / "a"), ("--metrics", tmp_path / "a")])
    cli.check_paths(inputs=[("--body", model), ("--pose", None)],
                    outputs=[("--out", tmp_path / "new" / "deep" / "x.ply")])


def test_check_paths_refuses_folders_and_unwritable_places(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(cli.UsageError, match="is a folder"):
        cli.check_paths(outputs=[("--out", tmp_path)])
    with pytest.raises(cli.UsageError, match="is not a folder"):
        cli.check_paths(outputs=[("--out", tmp_path / "file" / "x.ply")])
    with pytest.raises(cli.UsageError, match="not a folder"):
        cli.check_paths(output_dirs=[("--out-dir", tmp_path / "file")])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(cli.UsageError, match="not a regular file"):
        cli.check_paths(outputs=[("--out", fifo)])
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(cli.UsageError, match="not writable"):
            cli.check_paths(outputs=[("--out", locked / "x.ply")])


def test_pickles_need_allow_pickle():
    with pytest.raises(cli.UsageError, match="--allow-pickle"):
        cli.check_pickle("models/SMPLX_NEUTRAL.PKL", False, "--body")
    cli.check_pickle("models/SMPLX_NEUTRAL.pkl", True, "--body")
    cli.check_pickle("models/SMPLX_NEUTRAL.npz", False, "--body")


# ---- temporaries and output sets ------------------------------------------------------------


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    out = tmp_path / "x.ply"
    dead = tmp_path / f".x.ply.posa-{_dead_pid()}-0123abcd.tmp"
    alive = tmp_path / f".x.ply.posa-{os.getpid()}-0123abcd.tmp"
    fresh = tmp_path / ".x.ply.Ab3dE6g8.tmp"  # atomic_write's: no pid; young -> kept
    old = tmp_path / ".x.ply.Zz9yY8xX.tmp"
    other = tmp_path / ".x.ply.notes"
    for path in (dead, alive, fresh, old, other):
        path.write_bytes(b"partial")
    past = time.time() - cli.STALE_SECONDS - 60
    os.utime(old, (past, past))
    removed = cli.clean_stale_temps([out])
    assert sorted(removed) == sorted([dead, old])
    assert alive.exists() and fresh.exists() and other.exists()
    assert cli.clean_stale_temps([out], locked=True) == [fresh]


def test_output_set_is_written_as_one_unit(tmp_path):
    a, b = tmp_path / "scene.glb", tmp_path / "sub" / "metrics.json"
    a.write_text("old a")
    with cli.OutputSet([a, b, None]) as outs:
        outs.temp(a).write_text("new a")
        outs.temp(b).write_text("new b")
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    with pytest.raises(RuntimeError), cli.OutputSet([a, b]) as outs:
        outs.temp(a).write_text("newer a")
        raise RuntimeError("the work failed after the first file")
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.glb", "sub"]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["metrics.json"]


def test_a_kill_inside_the_commit_is_rolled_forward_by_the_next_run(tmp_path):
    a, b = tmp_path / "scene.glb", tmp_path / "metrics.json"
    a.write_text("old a")
    b.write_text("old b")
    driver = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from posa_model import cli
        real, calls = os.replace, []
        def replace(src, dst):
            calls.append(dst)
            if len(calls) == 2:          # one file renamed into place, then kill -9
                os.kill(os.getpid(), 9)
            return real(src, dst)
        os.replace = replace
        with cli.OutputSet([{str(a)!r}, {str(b)!r}]) as outs:
            outs.temp({str(a)!r}).write_text("new a")
            outs.temp({str(b)!r}).write_text("new b")
    """)
    proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert (a.read_text(), b.read_text()) == ("new a", "old b")  # mixed: the kill's damage
    assert cli.recover_outputs([a]) == [b]  # the next run that writes either path
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "scene.glb"]


# ---- the CLIs ---------------------------------------------------------------------------------


def test_sample_never_overwrites_its_inputs_and_bounds_its_arguments(tmp_path, capsys):
    from posa_model.body import standin_path
    from posa_model.sample import main

    model = tmp_path / "M.npz"
    model.write_bytes(standin_path().read_bytes())
    before = model.read_bytes()
    assert main(["--body", str(model), "--out", str(model)]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert model.read_bytes() == before
    assert main(["--out", str(tmp_path)]) == 2  # a folder
    assert main(["--out", str(tmp_path / "x.txt")]) == 2  # an unknown format
    (tmp_path / "file").write_text("x")
    assert main(["--out", str(tmp_path / "file" / "x.ply")]) == 2
    assert main(["--body", "evil.pkl", "--out", str(tmp_path / "x.ply")]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    assert main(["--n", "2", "--show-sample", "5", "--out", str(tmp_path / "x.ply")]) == 2
    for bad in (["--n", "100000"], ["--seed", str(2**70)], ["--device", "meta"]):
        with pytest.raises(SystemExit) as info:
            main([*bad, "--out", str(tmp_path / "x.ply")])
        assert info.value.code == 2
    assert "expected auto, cpu, cuda" in capsys.readouterr().err
    assert not (tmp_path / "x.ply").exists()


def test_evaluate_never_overwrites_the_checkpoint(tmp_path, capsys):
    from posa_model.evaluate import main
    from tools.make_default_checkpoint import make_untrained_checkpoint

    ckpt = make_untrained_checkpoint(tmp_path / "c.pt")
    before = ckpt.read_bytes()
    (tmp_path / "data" / "test").mkdir(parents=True)
    assert main(["--checkpoint", str(ckpt), "--data", str(tmp_path / "data"),
                 "--out", str(ckpt)]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert ckpt.read_bytes() == before
    assert main(["--checkpoint", str(ckpt), "--data", str(tmp_path / "data"),
                 "--split", "../..", "--out", str(tmp_path / "m.json")]) == 2


@pytest.mark.slow
def test_the_checkpoint_tool_never_replaces_the_shipped_checkpoint_unasked(tmp_path, capsys):
    from posa_model.assets import DEFAULT_CHECKPOINT_PATH as shipped
    from tools.make_default_checkpoint import main

    stamp = (shipped.stat().st_mtime_ns, shipped.stat().st_size)
    assert main([]) == 2
    assert "nothing to do" in capsys.readouterr().err
    assert main(["--untrained"]) == 2
    assert main(["--untrained", "--out", str(shipped)]) == 2
    assert "refusing to replace the shipped" in capsys.readouterr().err
    assert (shipped.stat().st_mtime_ns, shipped.stat().st_size) == stamp
    assert main(["--untrained", "--out", str(tmp_path / "u.pt")]) == 0
    from posa_model.nn.checkpoint import read_checkpoint

    assert not read_checkpoint(tmp_path / "u.pt").trained
    # exporting: the output may not be its own source
    assert main(["--from", str(tmp_path / "u.pt"), "--out", str(tmp_path / "u.pt")]) == 2
    assert main(["--from", str(tmp_path / "u.pt"), "--out", str(tmp_path / "e.pt")]) == 0
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "make_default_checkpoint.py")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "nothing to do" in out.stderr
    assert (shipped.stat().st_mtime_ns, shipped.stat().st_size) == stamp
