"""Shared helpers of the end-to-end CLI tests (imported by conftest and the test files)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ganas.cli import main

#: tiny DCGAN settings: 16 px grey images, narrow nets, small batches, frequent checkpoints
TINY = ("--set", "image_size=16", "--set", "channels=1", "--set", "ngf=8", "--set", "ndf=8",
        "--set", "batch_size=16", "--set", "checkpoint_every=10", "--set", "sample_every=10",
        "--set", "log_every=5", "--device", "cpu", "--quiet")


@dataclass
class CliResult:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys, *argv: Any) -> CliResult:
    """``ganas ARGV`` in-process; argparse's own exits (SystemExit) become the return code.
    ``capsys`` None: output is not captured (for session fixtures)."""
    if capsys is not None:
        capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    return CliResult(rc, out, err)


def assert_error(res: CliResult, *needles: str) -> None:
    """Exit code 2, one ``ganas: error:`` line on stderr naming every needle, no traceback."""
    assert res.rc == 2, (res.rc, res.out, res.err)
    assert "ganas: error:" in res.err, res.err
    assert "Traceback" not in res.err
    for n in needles:
        assert n in res.err, f"{n!r} not in {res.err!r}"


def external_urls(html: str) -> list[str]:
    """http(s) URLs in a page, other than the SVG namespace."""
    return [u for u in re.findall(r"https?://[^\s\"'<>)]+", html) if u != "http://www.w3.org/2000/svg"]


#: the synthetic NAS-Bench-201 scores per op: every edge's best op is nor_conv_3x3, so the
#: all-nor_conv_3x3 cell is the unique optimum (its 200-epoch test accuracy is 94.37)
OP_SCORE = {"none": 0, "skip_connect": 1, "nor_conv_1x1": 3, "nor_conv_3x3": 4, "avg_pool_3x3": 2}
NB201_OPTIMUM = 94.37


def nb201_score(arch_str: str) -> int:
    """Sum of ``OP_SCORE`` over the 6 edges of an NB201 cell string (0..24)."""
    ops = [tok.split("~")[0] for tok in arch_str.replace("+", "").split("|") if tok]
    assert len(ops) == 6, arch_str
    return sum(OP_SCORE[o] for o in ops)


def nb201_val12(arch_str: str) -> float:
    return round(30.0 + 2.0 * nb201_score(arch_str), 4)


def nb201_test200(arch_str: str) -> float:
    return round(60.0 + nb201_score(arch_str) * (NB201_OPTIMUM - 60.0) / 24, 4)
