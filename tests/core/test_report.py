import json

import numpy as np
import yaml
from PIL import Image

from ganas.report import write_run_report, write_search_report
from ganas.report.plot import line_chart


def test_line_chart_is_svg_with_each_series():
    svg = line_chart({"loss_D": ([1, 2, 3], [1.0, 0.5, float("nan")]), "loss_G": ([1, 2], [2.0, 3.0])}, title="t")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2 and "loss_G" in svg
    assert "no data" in line_chart({"x": ([], [])})


def test_run_report_is_self_contained(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"method": "dcgan", "data": "shapes"}))
    rows = [{"step": s, "losses": {"loss_D": 1.0 / s, "loss_G": 2.0}, "images_per_s": 100.0, "elapsed": s}
            for s in range(1, 20)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{torn")
    (tmp_path / "evals.jsonl").write_text(json.dumps({"step": 10, "fd": 5.0, "fd_real_floor": 1.0, "confidence": 0.9}))
    (tmp_path / "samples").mkdir()
    for s in (5, 10, 15):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "samples" / f"step_{s:06d}.png")
    (tmp_path / "eval.json").write_text(json.dumps({"fd": 3.5, "coverage": {"a": 0.5, "b": 0.5}}))
    html = write_run_report(tmp_path).read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert html.count("data:image/png;base64,") == 3 and "step 15" in html
    assert "loss_D" in html and "loss_G" in html and "real floor" in html and "coverage" in html
    assert html.count("<polyline") >= 3  # two loss curves and the FD chart


def test_search_report(tmp_path):
    (tmp_path / "search.yaml").write_text(yaml.safe_dump({"space": "nb201", "strategy": "random"}))
    rows = [{"i": i, "arch": f"a{i}", "reward": r, "metrics": {"test_acc": r + 1}} for i, r in enumerate([1, 3, 2])]
    (tmp_path / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    html = write_search_report(tmp_path).read_text()
    assert "a1" in html and "search progress" in html and "reported test accuracy of the best so far" in html
