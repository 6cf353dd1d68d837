"""Progress bars while data is scanned: shown on a terminal only, never as test noise."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from ganas.data import make_dataset
from ganas.data import progress as progress_mod


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tree(root: Path) -> None:
    for c in ("a", "b"):
        for i in range(3):
            (root / c).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (4, 4)).save(root / c / f"{i}.png")


def test_bar_on_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    monkeypatch.setattr(progress_mod, "DELAY", 0.0)
    monkeypatch.delenv("GANAS_PROGRESS", raising=False)
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    make_dataset(f"folder:{tmp_path}?skip_bad=true", image_size=4)
    assert "scanning" in tty.getvalue() and "checking" in tty.getvalue()
    for off in ("?skip_bad=true&progress=false",):
        quiet = _Tty()
        monkeypatch.setattr(sys, "stderr", quiet)
        make_dataset(f"folder:{tmp_path}{off}", image_size=4)
        assert quiet.getvalue() == ""
    monkeypatch.setenv("GANAS_PROGRESS", "0")
    quiet = _Tty()
    monkeypatch.setattr(sys, "stderr", quiet)
    make_dataset(f"folder:{tmp_path}?skip_bad=true", image_size=4)
    assert quiet.getvalue() == ""


def test_no_bar_without_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capfd: pytest.CaptureFixture[str]) -> None:
    _tree(tmp_path)
    monkeypatch.setattr(progress_mod, "DELAY", 0.0)
    make_dataset(f"folder:{tmp_path}?skip_bad=true", image_size=4)
    make_dataset("shapes?n=5", image_size=16)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
