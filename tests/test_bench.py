"""The benchmark's records (speeds are measured, never asserted)."""

import json

from segdend import bench
from segdend.bench import CASES, format_table, per_core_records, time_case, write_json


def test_time_case_measures_both_engines(small_mnist, monkeypatch):
    monkeypatch.setattr(bench, "COUNTS", {key: (2, 2) for key in bench.COUNTS})
    case = next(c for c in CASES if c.name == "train-spiking-784-10")
    for engine in ("reference", "fast"):
        assert time_case(case, engine, small_mnist, quick=True) > 0
    symmetric = next(c for c in CASES if c.feedback == "symmetric-noise")
    assert time_case(symmetric, "fast", small_mnist, quick=True) > 0
    for name in ("test-250ms-784-500-10", "test-250ms-784-500-100-10-apical"):
        test_case = next(c for c in CASES if c.name == name)
        assert time_case(test_case, "fast", small_mnist, quick=True) > 0


def test_records_are_written_as_a_json_list(tmp_path):
    records = [{"engine": "fast", "case": "train-spiking-784-500-10", "unit": "ms/example",
                "value": 0.6}]
    write_json(records, tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text()) == records
    assert "train-spiking-784-500-10" in format_table(records)
    assert {c.name for c in CASES} == {
        "train-spiking-784-10", "train-spiking-784-500-10", "train-spiking-784-500-100-10",
        "train-spiking-784-500-10-symmetric-noise", "train-rate-784-500-10",
        "test-500ms-784-500-10", "test-250ms-784-500-10", "test-250ms-784-500-100-10-apical"}


def test_per_core_test_records_multiply_by_the_threads():
    timings = {("fast", "test-500ms-784-500-10"): 0.8, ("fast", "test-250ms-784-500-10"): 0.4,
               ("fast", "test-250ms-784-500-100-10-apical"): 0.5}
    records = per_core_records(timings, 2)
    assert {(r["case"], r["unit"], r["value"]) for r in records} == {
        ("test-500ms-784-500-10", "core-ms/image", 1.6),
        ("test-250ms-784-500-10", "core-ms/image", 0.8),
        ("test-250ms-784-500-100-10-apical", "core-ms/image", 1.0)}
