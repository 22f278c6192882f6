"""Evaluating a series classifier or frame tagger on data with labels training never saw:
scored as errors, reported, no refusal (the trained runs of tests/fixtures/runs_0_1_0)."""

from pathlib import Path

import rnnkit

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs_0_1_0"


def test_series_classifier_scores_unseen_labels_as_errors(tmp_path):
    src = (RUNS / "data" / "series.ts").read_text().splitlines()
    header = [ln.replace("@classLabel true down up", "@classLabel true down up flat")
              for ln in src if ln.startswith("@")]
    rows = [ln for ln in src if not ln.startswith("@")][:6]
    rows[0] = rows[0].rsplit(":", 1)[0] + ":flat"
    (tmp_path / "t.ts").write_text("\n".join(header + rows) + "\n")
    rep = rnnkit.load(RUNS / "series-classify").evaluate(tmp_path / "t.ts")
    assert rep["unseen"] == {"labels": ["flat"], "items": 1} and rep["n"] == 6
    assert rep["per_class"]["flat"]["support"] == 1 and rep["per_class"]["flat"]["recall"] == 0


def test_frame_tagger_scores_unseen_labels_as_errors(tmp_path):
    lines = (RUNS / "data" / "frames.csv").read_text().splitlines()[:21]
    lines[1] = lines[1].rsplit(",", 1)[0] + ",mid"
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    rep = rnnkit.load(RUNS / "series-tag").evaluate(tmp_path / "f.csv")
    assert rep["unseen"] == {"labels": ["mid"], "items": 1} and rep["n"] == 20
