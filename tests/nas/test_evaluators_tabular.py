"""TabularEvaluator on small NAS-Bench-201-layout tables written by the tests."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import numpy as np
import pytest

from ganas.errors import DataError, GanasError, UnknownNameError
from ganas.nas import EVALUATORS, make_space
from ganas.nas.evaluators import TabularEvaluator, resolve_dataset
from ganas.nas.evaluators.tabular import HP12_FILE, HP200_FILE

HP12_HEADER = ["index", "arch_str", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val", "imagenet-test", "imagenet-val"]
HP200_HEADER = ["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs", "ImageNetTestAccuracy200Epochs", "ArchitectureString", "UniqueString"]


@pytest.fixture()
def space():
    return make_space("nb201")


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def make_tables(folder: Path, space, n: int = 6, seed: int = 0) -> dict[str, dict[str, float]]:
    """Write both files for ``n`` random cells (200-epoch rows in reverse order, so the
    join by string is exercised); return the expected values per arch string."""
    rng = random.Random(seed)
    archs: list[str] = []
    while len(archs) < n:
        s = space.to_string(space.sample(rng))
        if s not in archs:
            archs.append(s)
    truth = {}
    rows12, rows200 = [], []
    for i, s in enumerate(archs):
        v = [round(rng.uniform(10, 95), 3) for _ in range(9)]
        truth[s] = {"c10_test12": v[0], "c10_val12": v[1], "c100_test12": v[2], "c100_val12": v[3],
                    "in_test12": v[4], "in_val12": v[5], "c10_200": v[6], "c100_200": v[7], "in_200": v[8]}
        rows12.append([i, s, *v[:6]])
        rows200.append([v[6], v[7], v[8], s, "unused"])
    _write(folder / HP12_FILE, HP12_HEADER, rows12)
    _write(folder / HP200_FILE, HP200_HEADER, rows200[::-1])
    return truth


def test_lookup_joins_both_files_and_reward_is_val12_fraction(tmp_path: Path, space) -> None:
    truth = make_tables(tmp_path, space)
    ev = TabularEvaluator(tmp_path, "cifar10", expected_rows=None)
    assert len(ev) == len(truth)
    for s, t in truth.items():
        r = ev.evaluate(space, space.from_string(s), seed=3)
        assert r.reward == pytest.approx(t["c10_val12"] / 100)
        assert r.metrics == pytest.approx({"val12": t["c10_val12"], "test12": t["c10_test12"], "test_acc": t["c10_200"]})
        assert ev.lookup(s)["test_acc"] == pytest.approx(t["c10_200"])


@pytest.mark.parametrize(
    "alias,val,rep",
    [("CIFAR-100", "c100_val12", "c100_200"), ("c100", "c100_val12", "c100_200"),
     ("ImageNet16-120", "in_val12", "in_200"), ("imagenet", "in_val12", "in_200"), ("cifar10", "c10_val12", "c10_200")],
)
def test_dataset_aliases_pick_their_columns(tmp_path: Path, space, alias: str, val: str, rep: str) -> None:
    truth = make_tables(tmp_path, space)
    ev = TabularEvaluator(tmp_path / HP12_FILE, alias, expected_rows=len(truth))  # a file path works too
    s = next(iter(truth))
    r = ev.evaluate(space, space.from_string(s))
    assert r.reward == pytest.approx(truth[s][val] / 100)
    assert r.metrics["test_acc"] == pytest.approx(truth[s][rep])


def test_unknown_dataset_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="cifar10, cifar100, imagenet16-120"):
        resolve_dataset("svhn")


def test_tables_in_enumeration_order(tmp_path: Path, space) -> None:
    truth = make_tables(tmp_path, space, n=8)
    ev = TabularEvaluator(tmp_path, expected_rows=None)
    rew, rep = ev.reward_table(space), ev.reported_table(space)
    assert rew.shape == rep.shape == (space.size(),)
    order = {a: i for i, a in enumerate(space.enumerate())}
    idx = sorted(order[space.from_string(s)] for s in truth)
    assert np.flatnonzero(~np.isnan(rew)).tolist() == idx
    for s, t in truth.items():
        i = order[space.from_string(s)]
        assert rew[i] == pytest.approx(t["c10_val12"] / 100) and rep[i] == pytest.approx(t["c10_200"])
    assert int(np.nanargmax(rep)) == order[space.from_string(max(truth, key=lambda s: truth[s]["c10_200"]))]


def test_registered_and_arch_list_accepted(tmp_path: Path, space) -> None:
    truth = make_tables(tmp_path, space)
    ev = EVALUATORS.create("tabular", str(tmp_path), dataset="cifar100", expected_rows=None)
    assert (ev.settings.dataset, ev.settings.path) == ("cifar100", str(tmp_path))
    s = next(iter(truth))
    assert ev.evaluate(space, list(space.from_string(s))).reward == pytest.approx(truth[s]["c100_val12"] / 100)


def test_arch_missing_from_table(tmp_path: Path, space) -> None:
    truth = make_tables(tmp_path, space)
    absent = next(a for a in space.enumerate() if space.to_string(a) not in truth)
    ev = TabularEvaluator(tmp_path, expected_rows=None)
    with pytest.raises(UnknownNameError, match="not in the table"):
        ev.evaluate(space, absent)
    with pytest.raises(UnknownNameError, match="not in the table"):
        ev.lookup("|none~0|+|none~0|none~1|+|none~0|none~1|nope~2|")


def test_wrong_row_count_names_file(tmp_path: Path, space) -> None:
    make_tables(tmp_path, space, n=4)
    with pytest.raises(DataError, match=rf"{HP12_FILE}: 4 rows, expected 15625"):
        TabularEvaluator(tmp_path)


def test_missing_file_and_missing_column(tmp_path: Path, space) -> None:
    with pytest.raises(DataError, match="not found"):
        TabularEvaluator(tmp_path / "nowhere", expected_rows=None)
    make_tables(tmp_path, space)
    (tmp_path / HP200_FILE).unlink()
    with pytest.raises(DataError, match=rf"{HP200_FILE}: table file not found"):
        TabularEvaluator(tmp_path, expected_rows=None)
    make_tables(tmp_path, space)
    text = (tmp_path / HP12_FILE).read_text().replace("cifar100-val", "c100val", 1)
    (tmp_path / HP12_FILE).write_text(text)
    TabularEvaluator(tmp_path, "cifar10", expected_rows=None)  # the other dataset's columns still load
    with pytest.raises(DataError, match=rf"{HP12_FILE}: missing column\(s\) cifar100-val"):
        TabularEvaluator(tmp_path, "cifar100", expected_rows=None)


def test_malformed_values_and_strings(tmp_path: Path, space) -> None:
    make_tables(tmp_path, space)
    f12 = tmp_path / HP12_FILE
    good = f12.read_text()
    lines = good.splitlines()
    cells = lines[2].split(",")
    cells[3] = "n/a"  # cifar10-val of the second data row
    f12.write_text("\n".join([*lines[:2], ",".join(cells), *lines[3:]]) + "\n")
    with pytest.raises(DataError, match="line 3, column cifar10-val: 'n/a'"):
        TabularEvaluator(tmp_path, expected_rows=None)
    f12.write_text(good + "6,|bogus~0|\n")  # short row
    with pytest.raises(DataError, match="line 8 has 2 fields"):
        TabularEvaluator(tmp_path, expected_rows=None)
    # a string that is not an NB201 cell: loads, but mapping it onto the space names it
    cells = lines[1].split(",")
    cells[1] = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    f12.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    f200 = tmp_path / HP200_FILE
    f200.write_text(f200.read_text().replace(lines[1].split(",")[1], cells[1]))
    ev = TabularEvaluator(tmp_path, expected_rows=None)
    with pytest.raises(DataError, match=r"row 0, column arch_str: '\|conv~0\|"):
        ev.evaluate(space, space.sample(random.Random(0)))


def test_200_epoch_file_must_match_the_12_epoch_file(tmp_path: Path, space) -> None:
    truth = make_tables(tmp_path, space)
    f200 = tmp_path / HP200_FILE
    other = next(space.to_string(a) for a in space.enumerate() if space.to_string(a) not in truth)
    first = next(iter(truth))
    f200.write_text(f200.read_text().replace(first, other))
    with pytest.raises(DataError, match=rf"{HP200_FILE}: line \d, column ArchitectureString: architecture '{re.escape(other)}'"):
        TabularEvaluator(tmp_path, expected_rows=None)


def test_index_column_must_be_row_number(tmp_path: Path, space) -> None:
    make_tables(tmp_path, space)
    f12 = tmp_path / HP12_FILE
    lines = f12.read_text().splitlines()
    lines[3] = "7" + lines[3][1:]
    f12.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 4, column index: '7', expected 2"):
        TabularEvaluator(tmp_path, expected_rows=None)


def test_nats_api_path_needs_the_package() -> None:
    try:
        import nats_bench  # noqa: F401
    except ImportError:
        with pytest.raises(GanasError, match="nats_bench"):
            TabularEvaluator("nats:/nowhere")
    else:  # pragma: no cover - only where the package exists
        pytest.skip("nats_bench installed; the real API path is exercised by users")
