"""The real entry point in a child process: ``python -m ganas.cli`` (what the ``ganas``
console script, ``ganas.cli:main``, runs) parses, prints and exits with main's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ganas
from ganas.gan import METHODS, list_methods


def _run(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    src = str(Path(ganas.__file__).resolve().parents[1])  # the ganas under test, installed or not
    env = {**os.environ, "GANAS_CACHE": str(cache), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "ganas.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_console_entry_trains_and_reports_errors(tmp_path: Path, ganas_cache: Path) -> None:
    r = _run(["train", "dcgan", "--data", "digits", "--out", "run", "--steps", "4", "--quiet", "--device", "cpu",
              "--set", "image_size=16", "--set", "channels=1", "--set", "ngf=8", "--set", "ndf=8",
              "--set", "batch_size=16"], tmp_path, ganas_cache)
    assert r.returncode == 0, r.stderr
    assert "completed at step 4" in r.stdout
    assert (tmp_path / "run" / "checkpoints" / "step_000004.pt").is_file()
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4
    # a GanasError: exit status 2 and one line on stderr, no traceback
    r = _run(["train", "nope", "--data", "digits", "--out", "x"], tmp_path, ganas_cache)
    assert r.returncode == 2
    shipped = [n for n in list_methods() if METHODS.get(n).factory.__module__.startswith("ganas.")]  # no test toys
    assert r.stderr.strip() == f"ganas: error: unknown method 'nope'; valid: {', '.join(shipped)}"
    assert r.stdout == ""
    # --version prints the package version
    r = _run(["--version"], tmp_path, ganas_cache)
    assert r.returncode == 0 and r.stdout.strip() == f"ganas {ganas.__version__}"
