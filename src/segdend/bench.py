"""``segdend bench``: speed and memory of both engines, measured in the same run.

Every speed is reported as an absolute figure (ms per training example or per test image) and as
the ratio reference/fast measured in the same process, because machines are shared and noisy.
Compilation of the fast engine happens in an untimed warm-up.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from segdend.config import build_config
from segdend.data.dataset import Dataset, load_dataset
from segdend.engines import make_engine
from segdend.model.params import initialise
from segdend.train import make_schedules, phase_lengths

EPOCH_EXAMPLES = 60_000
EPOCH_TEST_IMAGES = 10_000


@dataclass(frozen=True)
class Case:
    """One benchmark case."""

    name: str
    kind: str  # "train" or "test"
    hidden: tuple[int, ...]
    mode: str = "spiking"
    test_length: int = 250
    feedback: str = "random"
    """``model.feedback``: symmetric feedback re-sets Y after every example (Fig 8C/D)."""
    apical_conductance: float = 0.0
    """``model.apical_conductance`` g_A: above 0 the output's spikes reach the hidden somata, so
    a test image steps every layer (Fig 9)."""

    @property
    def unit(self) -> str:
        return "ms/example" if self.kind == "train" else "ms/image"


CASES = [
    Case("train-spiking-784-10", "train", ()),
    Case("train-spiking-784-500-10", "train", (500,)),
    Case("train-spiking-784-500-100-10", "train", (500, 100)),
    Case("train-spiking-784-500-10-symmetric-noise", "train", (500,), feedback="symmetric-noise"),
    Case("train-rate-784-500-10", "train", (500,), mode="rate"),
    Case("test-500ms-784-500-10", "test", (500,), test_length=500),
    Case("test-250ms-784-500-10", "test", (500,), test_length=250),
    Case("test-250ms-784-500-100-10-apical", "test", (500, 100), test_length=250,
         apical_conductance=0.05),
]

#: Examples or images timed per engine: (quick, full).
COUNTS = {
    ("reference", "train", "spiking"): (3, 20),
    ("reference", "train", "rate"): (300, 3000),
    ("reference", "test", "spiking"): (2, 10),
    ("fast", "train", "spiking"): (400, 2000),
    ("fast", "train", "rate"): (3000, 30000),
    ("fast", "test", "spiking"): (300, 2000),
}


def _config(case: Case, engine: str, n_examples: int):
    return build_config("code", overrides=[
        f"engine={engine}", f"model.hidden={list(case.hidden)}", f"model.mode={case.mode}",
        f"train.examples={max(n_examples, 1)}", f"phases.test_length={case.test_length}",
        f"model.feedback={case.feedback}", f"model.apical_conductance={case.apical_conductance}",
    ])


REPEATS = 3


def time_case(case: Case, engine_name: str, dataset: Dataset, quick: bool) -> float:
    """Milliseconds per training example or per test image: the best of three timed repeats
    (machines here are shared and noisy), after an untimed warm-up that compiles."""
    n = COUNTS[(engine_name, case.kind, case.mode if case.kind == "train" else "spiking")][
        0 if quick else 1
    ]
    total = REPEATS * n + 2
    config = _config(case, engine_name, total)
    engine = make_engine(config)
    params = initialise(config, dataset.n_inputs)
    best = float("inf")
    if case.kind == "train":
        state = engine.new_state(params)
        order = np.arange(total) % len(dataset.train_labels)
        images = Dataset.scale(dataset.train_images[order])
        labels = dataset.train_labels[order]
        schedules = make_schedules(config, 0, range(total), phase_lengths(config, 0),
                                   list(case.hidden))
        engine.train(params, state, images[:2], labels[:2], schedules[:2])  # warm-up
        for repeat in range(REPEATS):
            first = 2 + repeat * n
            began = time.perf_counter()
            for start in range(first, first + n, 1000):
                stop = min(start + 1000, first + n)
                engine.train(params, state, images[start:stop], labels[start:stop],
                             schedules[start:stop])
            best = min(best, time.perf_counter() - began)
        return 1000.0 * best / n
    images = Dataset.scale(dataset.test_images[: n + 2])
    engine.predict(params, images[:2], (9, 0))  # warm-up
    for repeat in range(REPEATS):
        began = time.perf_counter()
        engine.predict(params, images[2:], (9, 1 + repeat))
        best = min(best, time.perf_counter() - began)
    return 1000.0 * best / n


def run_bench(quick: bool = False, progress=print) -> list[dict]:
    """Measure every case with both engines; return the records."""
    dataset = load_dataset("mnist", progress=progress)
    records: list[dict] = []
    timings: dict[tuple[str, str], float] = {}
    for case in CASES:
        for engine in ("reference", "fast"):
            value = time_case(case, engine, dataset, quick)
            timings[(engine, case.name)] = value
            records.append({"engine": engine, "case": case.name, "unit": case.unit,
                            "value": round(value, 5)})
            progress(f"{engine:9s} {case.name:30s} {value:10.3f} {case.unit}")
        records.append({"engine": "reference/fast", "case": case.name, "unit": "ratio",
                        "value": round(timings[("reference", case.name)]
                                       / timings[("fast", case.name)], 2)})
    for engine in ("reference", "fast"):
        for net in ("784-500-10", "784-500-100-10"):
            train = timings[(engine, f"train-spiking-{net}")]
            test = timings[(engine, "test-250ms-784-500-10")]
            minutes = (train * EPOCH_EXAMPLES + test * EPOCH_TEST_IMAGES) / 60_000.0
            records.append({"engine": engine, "case": f"epoch-spiking-{net}",
                            "unit": "minutes", "value": round(minutes, 3)})
            records.append({"engine": engine, "case": f"run-60-epochs-spiking-{net}",
                            "unit": "hours", "value": round(minutes * 60 / 60.0, 3)})
        rate_epoch = timings[(engine, "train-rate-784-500-10")] * EPOCH_EXAMPLES / 1000.0
        records.append({"engine": engine, "case": "epoch-rate-784-500-10", "unit": "seconds",
                        "value": round(rate_epoch, 3)})
    records.extend(per_core_records(timings, numba.get_num_threads()))
    records.extend(sweep_throughput(quick, progress))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    records.append({"engine": "both", "case": "peak-rss", "unit": "MiB", "value": round(peak, 1)})
    records.append({"engine": "both", "case": "cores", "unit": "count",
                    "value": len(os.sched_getaffinity(0))})
    return records


def per_core_records(timings: dict[tuple[str, str], float], threads: int) -> list[dict]:
    """Core-milliseconds per test image of the fast engine (wall time × the threads it ran on),
    the figure the per-core speed targets speak of."""
    return [
        {"engine": "fast", "case": case.name, "unit": "core-ms/image",
         "value": round(timings[("fast", case.name)] * threads, 5)}
        for case in CASES if case.kind == "test"
    ]


SWEEP_TEXT = """
[base]
preset = "code"
[base.set]
"engine" = "fast"
"model.mode" = "rate"
"model.hidden" = [500]
"train.epochs" = 1
"train.examples" = {examples}
"test.examples" = 1000
"train.quick_test_every" = 0
[grid]
"model.feedback" = ["random", "sparse"]
seeds = [0, 1]
"""


def sweep_throughput(quick: bool, progress=print) -> list[dict]:
    """Runs per minute of a 4-run sweep with 1 and with 2 local workers, and the speed-up."""
    import tempfile

    from segdend import sweep

    records = []
    rates = {}
    with tempfile.TemporaryDirectory(prefix="segdend-bench-sweep-") as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(SWEEP_TEXT.format(examples=5000 if quick else 60000))
        for workers in (1, 2):
            runs = sweep.load_sweep(path, Path(tmp) / f"w{workers}")
            began = time.perf_counter()
            results = sweep.run_local(runs, workers, progress=lambda m: None)
            seconds = time.perf_counter() - began
            if any(r["status"] != "done" for r in results):
                raise RuntimeError(f"benchmark sweep failed: {results}")
            rates[workers] = 60.0 * len(runs) / seconds
            records.append({"engine": "fast", "case": f"sweep-4-rate-runs-{workers}-workers",
                            "unit": "runs/minute", "value": round(rates[workers], 3)})
            progress(f"sweep with {workers} worker(s): {rates[workers]:.2f} runs/minute")
    records.append({"engine": "fast", "case": "sweep-speedup-2-vs-1-workers", "unit": "ratio",
                    "value": round(rates[2] / rates[1], 2)})
    return records


def format_table(records: list[dict]) -> str:
    """A plain-text table of the records."""
    lines = [f"{'engine':16s} {'case':34s} {'value':>12s}  unit", "-" * 74]
    for r in records:
        lines.append(f"{r['engine']:16s} {r['case']:34s} {r['value']:12.3f}  {r['unit']}")
    return "\n".join(lines)


def write_json(records: list[dict], path: Path) -> None:
    """Write the records as a JSON list."""
    Path(path).write_text(json.dumps(records, indent=1) + "\n")
