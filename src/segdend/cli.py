"""The ``segdend`` command line: train, test, data, demo, bench, plasticity, traces, sweep,
reproduce, report, config.

Errors caused by input (a file, a key, a value) print one line and exit with status 2; a
diverging run exits with status 3. No traceback is shown for either.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shlex
import signal
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from segdend import __version__
from segdend.config import build_config, dump_toml
from segdend.errors import DivergenceError, SegdendError

EXIT_INPUT = 2
EXIT_DIVERGED = 3


def _print(message: str) -> None:
    print(message, flush=True)


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="code", help="code (default) or paper")
    parser.add_argument("--config", action="append", type=Path, default=[], metavar="FILE",
                        help="TOML config file (repeatable; later files win)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="overrides", help="override one key, e.g. model.hidden=[500,100]")


def _default_run_dir(config_hidden: list[int], mode: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    sizes = "-".join(str(n) for n in [784, *config_hidden, 10])
    return Path("runs") / f"{stamp}-{mode}-{sizes}"


def cmd_train(args: argparse.Namespace) -> int:
    """segdend train: ``Network.fit(run_dir=...)``, or ``Run.resume()`` with --resume."""
    from segdend.network import Network
    from segdend.run import Run

    if args.resume is not None:
        if args.overrides or args.config or args.init_params:
            raise SegdendError("--resume continues a run with its saved config; "
                               "it takes no --set, --config or --init-params")
        args.training_run = Path(args.resume)  # named by main() if Ctrl-C interrupts the run
        run_dir = Run(args.resume).resume(progress=not args.quiet, data_dir=args.data_dir).path
    else:
        config = build_config(args.preset, args.config, args.overrides)
        run_dir = args.run_dir or _default_run_dir(config.model.hidden, config.model.mode)
        args.training_run = Path(run_dir)
        Network(config=config).fit(run_dir=run_dir, init_params=args.init_params,
                                   progress=not args.quiet, data_dir=args.data_dir,
                                   log=_stderr)
    _print(f"run finished: {run_dir}")
    _print(_last_metrics(Path(run_dir)))
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _last_metrics(run_dir: Path) -> str:
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    last = rows[-1]
    return (f"epoch {last['epoch']}: test error {float(last['test_error']):.2f} % "
            f"(metrics in {run_dir / 'metrics.csv'})")


def cmd_test(args: argparse.Namespace) -> int:
    """segdend test RUN_DIR: ``Run.test``, the repeated weight tests of a run's parameters."""
    from segdend.run import Run

    run = Run(args.run_dir)
    errors = run.test(args.repeats, examples=args.examples, progress=not args.quiet,
                      data_dir=args.data_dir)
    spread = statistics.stdev(errors) if len(errors) > 1 else 0.0
    mean = statistics.mean(errors)
    _print(f"{args.repeats} repeated tests: mean {mean:.2f} %, sd {spread:.2f}, min "
           f"{min(errors):.2f}, max {max(errors):.2f} -> {run.path / 'repeated_tests.csv'}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """segdend data fetch|info."""
    from segdend.data import sources
    from segdend.data.dataset import KNOWN, fetch, load_dataset, locate

    if args.data_command == "fetch":
        path = fetch(args.name, progress=lambda m: print(m, file=sys.stderr))
        _print(f"{args.name} ready in {path}")
        return 0
    _print(f"cache: {sources.cache_dir()}")
    for name in KNOWN:
        try:
            found = locate(name, args.data_dir)
        except SegdendError as error:
            _print(f"{name}: unusable ({error})")
            continue
        if found is None:
            _print(f"{name}: not available locally (segdend data fetch {name})")
            continue
        data = load_dataset(name, args.data_dir, allow_fetch=False)
        _print(f"{name}: {len(data.train_labels)} training + {len(data.test_labels)} test images"
               f" of {data.n_inputs} pixels from {data.origin} (checksums verified)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """segdend demo: one epoch of the paper's 784-500-10 spiking network, then a test."""
    from segdend.engines import resolve_engine_name
    from segdend.network import Network

    overrides = ["train.epochs=1", "model.hidden=[500]", "model.mode=spiking", "engine=auto",
                 *args.overrides]
    net = Network(config=build_config("code", [], overrides))
    run_dir = args.run_dir or _default_run_dir(net.config.model.hidden, "demo")
    _print(f"demo: training 784-500-10 (spiking) for one epoch with the "
           f"{resolve_engine_name(net.config)} engine -> {run_dir}")
    began = time.perf_counter()
    args.training_run = Path(run_dir)
    net.fit(run_dir=run_dir, progress=not args.quiet, data_dir=args.data_dir, log=_stderr)
    _print(_last_metrics(Path(run_dir)))
    _print(f"demo finished in {time.perf_counter() - began:.0f} s; results in {run_dir}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """segdend config: print a resolved config as TOML."""
    sys.stdout.write(dump_toml(build_config(args.preset, args.config, args.overrides)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """segdend bench: both engines, every case, in one run."""
    from segdend.bench import format_table, run_bench, write_json

    records = run_bench(quick=args.quick,
                        progress=(lambda m: None) if args.quiet else
                        (lambda m: print(m, file=sys.stderr, flush=True)))
    _print(format_table(records))
    if args.json:
        write_json(records, args.json)
        _print(f"records written to {args.json}")
    return 0


def cmd_plasticity(args: argparse.Namespace) -> int:
    """segdend plasticity: ``run_plasticity``, the Fig 10 protocol and the timing sweep."""
    import json

    from segdend.plasticity import run_plasticity
    from segdend.runs import atomic_write_text

    summary = run_plasticity(files=args.config, overrides=args.overrides, out=args.out)
    written = summary.pop("files")
    for name in ("early", "late"):
        r = summary[name]
        kind = "LTD" if r["delta_w"] < 0 else "LTP" if r["delta_w"] > 0 else "no change"
        _print(f"{name:5s} apical input (onset {r['onset_ms']} ms, {r['duration_ms']} ms): "
               f"Δw = {r['delta_w']:+.4f} ({kind}); basal response {r['baseline_response']:.3f}"
               f" -> {r['after_response']:.3f}")
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=1) + "\n")
        written.append(str(args.json))
    _print("written: " + ", ".join(written))
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    """segdend traces: ``Network.simulate`` and ``Simulation.plot`` (Figs 3C, 9A)."""
    from segdend.config import apply_overrides, load_toml, neuron_error, parse_neuron, validate
    from segdend.data.dataset import load_dataset
    from segdend.experiments.common import pyplot
    from segdend.network import Network
    from segdend.run import Run
    from segdend.runs import ensure_writable
    from segdend.traces import choose_neurons, write_csv

    if args.run_dir is not None:
        run = Run(args.run_dir)
        tree = load_toml(run.path / "config.toml")
        apply_overrides(tree, args.overrides)
        net = Network(config=validate(tree))
        net.params_ = run.params()
    else:
        net = Network(config=build_config(args.preset, args.config, args.overrides))
    config = net.config
    if config.model.mode != "spiking":
        raise SegdendError("traces need model.mode = 'spiking' (rate mode has no dynamics)")
    dataset = load_dataset(config.dataset, args.data_dir)
    if not net.is_fitted:
        net.initialise(dataset.n_inputs)
    params = net.params_
    if not 0 <= args.image < len(dataset.test_labels):
        raise SegdendError(f"--image must be in 0..{len(dataset.test_labels) - 1}")
    label = int(dataset.test_labels[args.image])
    simulation = net.simulate(dataset.test_images[args.image], label)
    neurons = choose_neurons(params, args.neurons, label)
    if args.neuron:
        neurons = {}
        for item in args.neuron:
            try:
                layer, index = parse_neuron(item)
            except ValueError as error:
                raise SegdendError(f"--neuron {error}") from None
            problem = neuron_error(layer, index, params.sizes[1:])
            if problem:
                raise SegdendError(f"--neuron '{item}': {problem}")
            neurons.setdefault(layer, []).append(index)
    ensure_writable(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    title = (f"test image {args.image} (label {label}), g_a = "
             f"{config.model.apical_conductance}")
    plt = pyplot()
    figure = simulation.plot(neurons, title)
    figure.savefig(args.out / "traces.png", dpi=110)
    plt.close(figure)
    written = [args.out / "traces.png"]
    if args.csv:
        write_csv(simulation.traces(), neurons, args.out / "traces.csv")
        written.append(args.out / "traces.csv")
    _print("written: " + ", ".join(str(p) for p in written))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """segdend sweep [status|collect] SWEEP.toml."""
    from segdend import sweep

    words = list(args.target)
    action = "run"
    if words and words[0] in ("status", "collect"):
        action = words.pop(0)
    if len(words) != 1:
        raise SegdendError("usage: segdend sweep [status|collect] SWEEP.toml [options]")
    runs = sweep.load_sweep(Path(words[0]), args.out)
    out = runs[0].run_dir.parent if runs else Path(args.out or ".")
    if action == "status":
        counts: dict[str, int] = {}
        for run in runs:
            state, detail = sweep.run_status(run)
            counts[state] = counts.get(state, 0) + 1
            _print(f"{state:11s} {run.name}" + (f"  ({detail})" if detail else ""))
        _print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
        return 0
    if action == "collect":
        path = sweep.collect(runs, out)
        _print(f"results of {sum(sweep.run_is_finished(r.run_dir) for r in runs)} finished runs "
               f"-> {path} (plot: {path.with_suffix('.png')})")
        return 0
    _print(f"sweep: {len(runs)} runs in {out}")
    with _sigterm_as_ctrl_c():
        results = sweep.run_sweep(words[0], workers=args.workers, out=args.out,
                                  scheduler=args.scheduler, cluster=args.cluster,
                                  cluster_options=_cluster_options(args.cluster_option),
                                  data_dir=args.data_dir,
                                  progress=None if args.quiet else _print)
    failed = [r for r in results if r["status"] == "failed"]
    done = sum(r["status"] == "done" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    _print(f"sweep finished: {done} run, {skipped} already done, {len(failed)} failed")
    return 1 if failed else 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop as Ctrl-C does (``KeyboardInterrupt``), so that cleanup runs."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_ctrl_c():
    """SIGTERM (``kill``) stops the block as Ctrl-C does: its cleanup runs (the worker processes
    are stopped, a reproduction's row goes into timings.csv). Only the main thread can do this."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """segdend reproduce FIGURE: the runs, source-data CSVs, PNGs and summary of a figure."""
    from segdend import sweep
    from segdend.experiments.reproduce import reproduce

    workers = args.workers or sweep.default_workers()
    progress = (lambda m: None) if args.quiet else _print
    data_dir = str(args.data_dir) if args.data_dir else None
    client = cluster = execute = None
    if args.scheduler or args.cluster:
        client, cluster = sweep.make_client(args.scheduler, args.cluster,
                                            _cluster_options(args.cluster_option), workers)

        def execute(runs, on_result):
            return sweep.run_dask(runs, client, data_dir, progress, on_result)
    try:
        with _sigterm_as_ctrl_c():
            folders = reproduce(args.figure, args.scale, workers, args.out, args.dataset,
                                args.preset, args.data_dir, progress=progress, execute=execute)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    _print("reproduced: " + ", ".join(str(f) for f in folders))
    return 0


def _cluster_options(items: list[str]) -> dict:
    """``--cluster-option KEY=VALUE`` pairs as keyword arguments of a dask-jobqueue cluster."""
    from segdend.config import parse_value

    options = {}
    for item in items:
        key, _, value = item.partition("=")
        options[key.strip().replace("-", "_")] = parse_value(value.strip())
    return options


def cmd_report(args: argparse.Namespace) -> int:
    """segdend report DIR: a self-contained HTML report of a run or a reproduction."""
    from segdend.report import write_report

    path = write_report(args.directory, args.out)
    _print(f"report -> {path}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    """segdend results RESULTS_DIR: RESULTS.md from the committed result folders."""
    from segdend.results import write_results

    path = write_results(args.results_dir, args.out)
    _print(f"results -> {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """segdend compare FIRST SECOND: two reproductions (or runs), number by number."""
    from segdend.results import compare_folders

    comparison = compare_folders(args.first, args.second, rtol=args.rtol)
    for line in comparison.lines(str(args.first), str(args.second)):
        _print(line)
    return 0 if comparison.identical else 1


def cmd_import_original(args: argparse.Namespace) -> int:
    """segdend import-original FOLDER --run-dir RUN: a simulation folder of the authors' code."""
    from segdend.original import import_original

    run_dir = import_original(args.folder, args.run_dir, args.epoch)
    files = f"epoch_{args.epoch}_*" if args.epoch else "initial_*"
    _print(f"imported {args.folder} ({files}) -> run {run_dir}")
    return 0


def cmd_export_original(args: argparse.Namespace) -> int:
    """segdend export-original RUN --out FOLDER: a run as a simulation folder of their code."""
    from segdend.original import export_original

    out = export_original(args.run_dir, args.out)
    _print(f"exported run {args.run_dir} -> {out} (simulation.json and .npy parameters)")
    return 0


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a Dask scheduler")
    parser.add_argument("--cluster", choices=["slurm", "pbs"], help="a dask-jobqueue cluster")
    parser.add_argument("--cluster-option", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to the dask-jobqueue cluster, e.g. queue=gpu, cores=4")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="segdend",
        description="Simulate the segregated-dendrites model of Guerguiev, Lillicrap & Richards "
                    "(eLife 2017).",
    )
    parser.add_argument("--version", action="version", version=f"segdend {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a network (or --resume a run)")
    _config_arguments(train)
    train.add_argument("--run-dir", type=Path, help="where to write the run (default runs/...)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run")
    train.add_argument("--init-params", type=Path, metavar="FILE.npz",
                       help="start from these parameters (W0, b0, ..., Y0, ...)")
    train.add_argument("--data-dir", type=Path, help="directory with the IDX files")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=cmd_train)

    test = sub.add_parser("test", help="repeated weight tests of a run")
    test.add_argument("run_dir", type=Path)
    test.add_argument("--repeats", type=int, default=20, help="number of tests (default 20)")
    test.add_argument("--examples", type=int, help="test images (default: the run's test.examples)")
    test.add_argument("--data-dir", type=Path)
    test.add_argument("--quiet", action="store_true")
    test.set_defaults(handler=cmd_test)

    data = sub.add_parser("data", help="fetch data sets or show what is available")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="download, verify and cache a data set")
    fetch.add_argument("name", choices=["mnist", "fashion-mnist"])
    info = data_sub.add_parser("info", help="where each data set is found")
    info.add_argument("--data-dir", type=Path)
    data.set_defaults(handler=cmd_data, data_dir=None)

    demo = sub.add_parser("demo", help="one epoch of 784-500-10 on MNIST, then a test")
    demo.add_argument("--run-dir", type=Path)
    demo.add_argument("--set", action="append", default=[], dest="overrides",
                      metavar="KEY=VALUE", help="override a key (e.g. train.examples=5000)")
    demo.add_argument("--data-dir", type=Path)
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(handler=cmd_demo)

    bench = sub.add_parser("bench", help="measure the speed of both engines")
    bench.add_argument("--quick", action="store_true", help="fewer examples (about a minute)")
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the records as JSON")
    bench.add_argument("--quiet", action="store_true")
    bench.set_defaults(handler=cmd_bench)

    plasticity = sub.add_parser("plasticity", help="simulate the Fig 10 prediction")
    plasticity.add_argument("--config", action="append", type=Path, default=[], metavar="FILE")
    plasticity.add_argument("--set", action="append", default=[], dest="overrides",
                            metavar="KEY=VALUE", help="e.g. pairings=40, late.onset_ms=60")
    plasticity.add_argument("--out", type=Path, default=Path("plasticity"),
                            help="output directory (default ./plasticity)")
    plasticity.add_argument("--json", type=Path, metavar="FILE")
    plasticity.set_defaults(handler=cmd_plasticity)

    traces = sub.add_parser("traces", help="plot the voltages of chosen neurons")
    traces.add_argument("run_dir", type=Path, nargs="?", help="a run (default: a fresh network)")
    _config_arguments(traces)
    traces.add_argument("--image", type=int, default=0, help="test image index (default 0)")
    traces.add_argument("--neurons", type=int, default=3, help="neurons per hidden layer")
    traces.add_argument("--neuron", action="append", default=[], metavar="LAYER:INDEX",
                        help="plot this neuron (repeatable; layer 0 = first hidden layer)")
    traces.add_argument("--out", type=Path, default=Path("traces"))
    traces.add_argument("--csv", action="store_true", help="also write traces.csv")
    traces.add_argument("--data-dir", type=Path)
    traces.set_defaults(handler=cmd_traces)

    sweep = sub.add_parser("sweep", help="run, check or collect a sweep of runs",
                           description="segdend sweep SWEEP.toml | segdend sweep status "
                                       "SWEEP.toml | segdend sweep collect SWEEP.toml")
    sweep.add_argument("target", nargs="+", metavar="[status|collect] SWEEP.toml")
    sweep.add_argument("--out", type=Path, help="run directories (default runs/<sweep stem>)")
    sweep.add_argument("--workers", type=int, help="processes (default: all cores)")
    _cluster_arguments(sweep)
    sweep.add_argument("--data-dir", type=Path)
    sweep.add_argument("--quiet", action="store_true")
    sweep.set_defaults(handler=cmd_sweep)

    reproduce = sub.add_parser(
        "reproduce", help="reproduce a figure of the paper (runs, CSVs, PNGs, summary.md)",
        description="FIGURE: fig3, fig4, fig5, fig5s1, fig6, fig6s1, fig7, fig8, fig8s1, fig9 "
                    "or all. Outputs go to OUT/<figure>/, runs to OUT/runs/.")
    reproduce.add_argument("figure", metavar="FIGURE")
    reproduce.add_argument("--scale", choices=["quick", "full"], default="quick",
                           help="quick: a few thousand examples (default); full: the paper's")
    reproduce.add_argument("--workers", type=int, help="parallel runs (default: all cores)")
    reproduce.add_argument("--out", type=Path,
                           help="output folder (default reproduction/<dataset>-<scale>)")
    reproduce.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    reproduce.add_argument("--preset", default="code", help="code (default) or paper")
    _cluster_arguments(reproduce)
    reproduce.add_argument("--data-dir", type=Path)
    reproduce.add_argument("--quiet", action="store_true")
    reproduce.set_defaults(handler=cmd_reproduce)

    report = sub.add_parser("report", help="self-contained HTML report of a run or reproduction")
    report.add_argument("directory", type=Path, help="a run directory or a reproduction folder")
    report.add_argument("--out", type=Path, help="HTML file (default DIR/report.html)")
    report.set_defaults(handler=cmd_report)

    results = sub.add_parser("results", help="write RESULTS.md from the committed result folders")
    results.add_argument("results_dir", type=Path, metavar="RESULTS_DIR",
                         help="the results folder (mnist-full, seeds, depth, ...)")
    results.add_argument("--out", type=Path,
                         help="Markdown file (default RESULTS.md beside RESULTS_DIR)")
    results.set_defaults(handler=cmd_results)

    compare = sub.add_parser(
        "compare", help="compare two reproductions or runs number by number",
        description="Compares the source-data CSVs, summary.json numbers, configs and the runs' "
                    "metrics and tests of two folders written by segdend (a fresh reproduction "
                    "and results/mnist-full, say), leaving out what measures time. Exits 1 if "
                    "a file differs or none could be compared.")
    compare.add_argument("first", type=Path, metavar="FIRST")
    compare.add_argument("second", type=Path, metavar="SECOND")
    compare.add_argument("--rtol", type=float, default=0.0,
                         help="relative tolerance for numbers (default 0: the same digits)")
    compare.set_defaults(handler=cmd_compare)

    import_original = sub.add_parser(
        "import-original", help="turn a simulation folder of the authors' code into a run")
    import_original.add_argument("folder", type=Path, help="their simulation folder")
    import_original.add_argument("--epoch", type=int, metavar="N",
                                 help="take epoch_N_* parameters (default: initial_*)")
    import_original.add_argument("--run-dir", type=Path, required=True, metavar="RUN",
                                 help="the run directory to create")
    import_original.set_defaults(handler=cmd_import_original)

    export_original = sub.add_parser(
        "export-original", help="write a run as a simulation folder of the authors' code")
    export_original.add_argument("run_dir", type=Path, metavar="RUN", help="a finished run")
    export_original.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                                 help="the simulation folder to write")
    export_original.set_defaults(handler=cmd_export_original)

    config = sub.add_parser("config", help="print the resolved config as TOML")
    _config_arguments(config)
    config.set_defaults(handler=cmd_config)
    return parser


def _interrupted_message(args: argparse.Namespace) -> str:
    """What Ctrl-C prints: how to continue the run it interrupted (``args.training_run``)."""
    run_dir = getattr(args, "training_run", None)
    if run_dir is None:
        return "segdend: interrupted"
    if not (run_dir / "config.toml").is_file():
        return f"segdend: interrupted before the run in {run_dir} started; nothing to resume"
    return (f"segdend: interrupted; continue the run with: "
            f"segdend train --resume {shlex.quote(str(run_dir))}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segdend`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "repeats", 1) is not None and getattr(args, "repeats", 1) < 1:
        parser.error("--repeats must be at least 1")
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        return int(args.handler(args))
    except DivergenceError as error:
        print(f"segdend: error: {error}", file=sys.stderr)
        return EXIT_DIVERGED
    except SegdendError as error:
        print(f"segdend: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(_interrupted_message(args), file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that closed it (``| head``)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's exit flush does not fail too
        return 1
