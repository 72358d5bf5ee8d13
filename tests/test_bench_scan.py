"""Smoke test of bench/scan_timing.py (part 6): it runs on a few images and replaces only its own
part of RESULTS.md. No timing is asserted (python -m bench.scan_timing measures, never tests)."""
from __future__ import annotations

from pathlib import Path

from bench.report import Results, Row, results_markdown, update_part
from bench.scan_timing import PART, TITLE, add_results, make_jpegs, measure


def test_the_scan_measurement_runs_and_updates_only_its_part(tmp_path: Path):
    root = make_jpegs(tmp_path / "jpegs", 4)
    made = sorted(p.stat().st_mtime_ns for p in root.glob("*/*.jpg"))
    assert len(made) == 4 and make_jpegs(tmp_path / "jpegs", 4) == root  # kept, not made again
    assert sorted(p.stat().st_mtime_ns for p in root.glob("*/*.jpg")) == made

    record = measure(root, repeats=1)
    assert record["images"] == 4 and record["full_decoded"] == 4
    assert record["second_decoded"] == 0 and record["trainer_decoded"] == 0  # the cache at work, both ways
    assert record["cache_file_bytes"] > 0

    old = Results()
    old.add(Row("1", "step time", "35.5 ms", "34.5 ms", "1.028", "<= 1.00", "missed by 2.8%"))
    old.add(Row("1", "  indented row", "1 ms"))
    old.add(Row(PART, "an old part-6 row", "99 s"))
    old.note("1. Danlu vs. the plain loop", "part one's note")
    old.note(TITLE, "an old part-6 note")
    path = tmp_path / "RESULTS.md"
    path.write_text(results_markdown(old, {"CPU": "x"}, {"python": "3"}, date="2026-01-01"), encoding="utf-8")

    new = Results()
    add_results(record, new)
    update_part(path, PART, new)
    text = path.read_text(encoding="utf-8")
    assert "part one's note" in text and "|   indented row " in text and "missed by 2.8%" in text
    assert "an old part-6" not in text and "4 JPEGs of ~1 MP: header-only scan" in text
    assert text.count(f"## {TITLE}") == 1 and text.index("## 1. Danlu") < text.index(f"## {TITLE}")
    update_part(path, PART, new)  # again: the same file
    assert path.read_text(encoding="utf-8") == text
