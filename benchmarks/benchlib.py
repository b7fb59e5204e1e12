"""Shared helpers of the benchmark scripts: machine description, repeated timing, result files.

The benchmark machine is usually shared (other processes compete for its cores), so every
result records the load average and core count next to the figure, every measurement is
repeated and the MEDIAN reported (plus the minimum: the least-disturbed repeat, the closest to
the uncontended cost), and compile time is kept apart from steady-state time.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
# Where write_result / append_history write instead, when set (benchmarks/gpu_suite.sh points it
# at a scratch folder so that a suite run leaves benchmarks/results/ as committed).
RESULTS_DIR_ENV = "DMTRACK_BENCH_RESULTS_DIR"
if str(ROOT) not in sys.path:  # `python benchmarks/x.py` from anywhere: import the repo's code
    sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    """The CPU model string of /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What a reader needs to judge a figure: CPU, usable cores, load, library versions."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "loadavg": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    for module in ("jax", "jaxlib", "numpy", "torch"):
        if module in sys.modules:
            info[module] = getattr(sys.modules[module], "__version__", "?")
    if "jax" in sys.modules:
        jax = sys.modules["jax"]
        info["jax_devices"] = f"{jax.device_count()} x {jax.devices()[0].platform}"
    for name in ("OPENBLAS_NUM_THREADS", "XLA_FLAGS", "GLIBC_TUNABLES"):
        if os.environ.get(name):
            info[name] = os.environ[name]
    return info


def loadavg() -> float:
    """1-minute load average: how many runnable processes competed for the cores."""
    return round(os.getloadavg()[0], 2)


def repeat(fn: Callable[[], Any], repeats: int, warmup: int = 0) -> dict[str, float]:
    """Calls `fn` `warmup` + `repeats` times; seconds per call (median, min, max, all)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return summarize(times)


def summarize(times_s) -> dict[str, Any]:
    times_s = [float(t) for t in times_s]
    return {"median_s": statistics.median(times_s), "min_s": min(times_s),
            "max_s": max(times_s), "n": len(times_s), "all_s": [round(t, 6) for t in times_s]}


def results_dir() -> pathlib.Path:
    """benchmarks/results, or $DMTRACK_BENCH_RESULTS_DIR when set."""
    override = os.environ.get(RESULTS_DIR_ENV)
    return pathlib.Path(override) if override else RESULTS_DIR


def write_result(name: str, payload: dict[str, Any]) -> pathlib.Path:
    """Writes benchmarks/results/NAME.json (or $DMTRACK_BENCH_RESULTS_DIR/NAME.json) atomically
    (temp file in the same dir, replace)."""
    out_dir = results_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2, default=_jsonable)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def append_history(name: str, record: dict[str, Any]) -> pathlib.Path:
    """Adds one line to benchmarks/results/NAME.jsonl (rewritten atomically), for figures that
    depend on the machine's load and are worth keeping from every run, not only the last."""
    out_dir = results_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    lines.append(json.dumps(record, default=_jsonable))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def add_conv_algorithm_arg(parser) -> None:
    parser.add_argument("--conv-algorithm", default="auto", choices=("auto", "direct", "winograd"),
                        help="model.conv_algorithm, the 3x3 stride-1 convs (auto: Winograd on "
                        "CPU at >= 256 input channels, XLA's conv otherwise)")


def load_config(name: str):
    """configs/NAME.py's get_config() (NAME: tiny, dmtrack_dla34, dmtrack_gs_official)."""
    import importlib

    try:
        module = importlib.import_module(f"configs.{name}")
    except ModuleNotFoundError as err:
        raise ValueError(f"no config configs/{name}.py (try tiny, dmtrack_dla34, "
                         f"dmtrack_gs_official)") from err
    return module.get_config()


def parse_hw(text: str) -> tuple[int, int]:
    """'512,736' or '512x736' -> (512, 736)."""
    try:
        h, w = (int(v) for v in text.lower().replace("x", ",").split(","))
    except ValueError as err:
        raise ValueError(f"expected H,W (e.g. 512,736), got {text!r}") from err
    return h, w


def add_profile_args(parser, what: str) -> None:
    parser.add_argument("--profile-dir", default="", help=f"after the timed {what}, trace a few "
                        "more under jax.profiler into this folder and add a summary (top ops by "
                        "time, benchmarks/trace_summary.py) to the result as `profile`")
    parser.add_argument("--profile-steps", type=int, default=3, help=f"{what} traced")


def profiled(profile_dir: str, fn: Callable[[], Any], steps: int) -> dict[str, Any]:
    """Runs `fn` `steps` times inside jax.profiler.trace(profile_dir); the trace's summary, or
    {"error": ...} if tracing or summarising failed (the caller's timings stand either way)."""
    import jax

    import trace_summary

    start = time.perf_counter()
    try:
        with jax.profiler.trace(profile_dir):
            for _ in range(steps):
                jax.block_until_ready(fn())
        wall_s = time.perf_counter() - start
        summary = trace_summary.summarize_dir(profile_dir)
    except Exception as err:  # noqa: BLE001 - a profile is optional
        return {"error": f"{type(err).__name__}: {err}", "steps": steps}
    summary.update(steps=steps, traced_wall_s=round(wall_s, 4))
    return summary


class LineWorker:
    """A worker subprocess served one line at a time: the command's first stdout line is a JSON
    object (`info`), then each request line written to its stdin gets one reply line ('quit'
    ends it). Keeps one framework per process (torch and XLA thread pools fight in one)."""

    def __init__(self, command: list[str]):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self.info = json.loads(self._read("ready"))

    def _read(self, what: str) -> str:
        line = self.process.stdout.readline()
        if not line:
            try:
                code = self.process.wait(timeout=10)  # negative: killed by that signal
            except subprocess.TimeoutExpired:
                code = "none yet"
            raise RuntimeError(f"the worker exited (waiting for {what!r}, exit code {code}; "
                               f"-11: a segfault, -9: killed, e.g. out of memory); see stderr")
        return line.strip()

    def ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read(command)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)
