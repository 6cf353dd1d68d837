"""Where Ray runs: a local instance started by the search (its temporary folder in the
search directory, through a short link when that path is long; nothing left running),
and joining a head started as the README says (``ray start --head``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from ganas.nas.executors.ray import MAX_TEMP_PATH, RayExecutor  # noqa: E402
from ganas.nas.search import JOURNAL, run_search  # noqa: E402
from ganas.nas.strategies import make_strategy  # noqa: E402

try:
    import test_strategies_toy as toy
    from test_ray import WORKER_ENV, ray_processes
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]
    from .test_ray import WORKER_ENV, ray_processes  # type: ignore[no-redef]


def _wait_gone(marker: str, timeout: float = 30.0) -> list[int]:
    deadline = time.time() + timeout
    while ray_processes(marker) and time.time() < deadline:
        time.sleep(0.2)
    return ray_processes(marker)


def _search(out: Path, executor: RayExecutor, budget: int = 6) -> list[dict]:
    space = toy.ToySpace()
    run_search(space, make_strategy("random", space, seed=1), toy.ToyEvaluator(sleep=0.05), budget, out, seed=1,
               executor=executor)
    return [json.loads(l) for l in (out / JOURNAL).read_text().splitlines()]


def test_a_local_instance_lives_in_the_search_directory(tmp_path, monkeypatch):
    assert not ray.is_initialized()
    monkeypatch.setenv("PYTHONPATH", WORKER_ENV["env_vars"]["PYTHONPATH"])  # inherited by the workers
    out = tmp_path / ("a-rather-long-folder-name-" * 3) / "search"  # > 107 bytes with Ray's socket names
    assert len(str(out / "ray")) > MAX_TEMP_PATH
    lines = _search(out, RayExecutor(workers=2))
    assert sorted(e["i"] for e in lines) == list(range(6))
    assert not ray.is_initialized()  # close() shut the instance down
    sessions = [p.name for p in (out / "ray").iterdir() if p.name.startswith("session_2")]
    assert sessions, "Ray's temporary folder is not inside the search directory"
    links = [p for p in Path(tempfile.gettempdir()).glob("ganas-ray-*") if p.is_symlink()
             and Path(os.readlink(p)) == (out / "ray").resolve()]
    assert not links  # the short link is removed
    assert not _wait_gone(str((out / "ray").resolve())) and not _wait_gone("ganas-ray-")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a second Python process (or Ray head) starts: 15-60 s on a loaded machine
def test_joining_a_head_started_with_ray_start(tmp_path):
    """``ray start --head`` (README: "Distributed search"), then ``--ray-address``."""
    assert not ray.is_initialized()
    temp = tempfile.mkdtemp(prefix="grh-", dir="/tmp")
    port = _free_port()
    ray_cli = str(Path(sys.executable).parent / "ray")
    env = {**os.environ, "PYTHONPATH": WORKER_ENV["env_vars"]["PYTHONPATH"]}
    subprocess.run([ray_cli, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    f"--temp-dir={temp}", "--disable-usage-stats"], check=True, env=env, capture_output=True)
    try:
        lines = _search(tmp_path / "s", RayExecutor(workers=2, address=f"127.0.0.1:{port}"))
        assert sorted(e["i"] for e in lines) == list(range(6))
        assert not ray.is_initialized()  # disconnected; the head keeps running
        assert ray_processes(temp), "the head stopped with the search"
    finally:
        # NOTE: `ray stop` (the README's way) stops every Ray process of this user on the
        # machine; the test ends only the processes of the head it started.
        for pid in ray_processes(temp):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        left = _wait_gone(temp)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert not _wait_gone(temp, 10)
