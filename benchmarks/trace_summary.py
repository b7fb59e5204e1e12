"""Summarises a jax.profiler trace (the .xplane.pb under DIR/plugins/profile/<run>/) into a small
JSON: per plane and line (thread, GPU stream) the events with the most total time, and one
`top_ops` table of the compiled program's ops (issue 21 part 2: raw traces can be large; the
summary is what comes back from the GPU machine).

    python benchmarks/trace_summary.py DIR [--top 25] [--out summary.json]

Reads the trace with `jax.profiler.ProfileData` (in jaxlib: no TensorBoard plugin or xprof
needed). `top_ops` is taken from, in this order: the device planes' "XLA Ops" lines (GPU: one
event per HLO op executed), else their stream lines (kernels), else every device line; with no
device plane (CPU), the host lines of XLA's executor threads (names starting "tf_XLA"; without
their ThunkExecutor wrapper events, which are kept in `planes`). Times
are summed durations: events nested on one line (host Python frames) count once per level, so a
line's `busy_ms` can exceed its span there; on a GPU stream events do not nest.
"""

from __future__ import annotations

import argparse
import json
import pathlib
from collections import defaultdict
from typing import Any

NAME_CHARS = 160  # kernel names can be long C++ signatures
# Events that wrap the ops on XLA:CPU's executor threads (they would top every CPU table).
WRAPPERS = ("ThunkExecutor::",)


def find_xplanes(profile_dir) -> list[pathlib.Path]:
    return sorted(pathlib.Path(profile_dir).rglob("*.xplane.pb"))


def _top(totals: dict[str, list], top: int, denominator_ns: float) -> list[dict[str, Any]]:
    rows = sorted(totals.items(), key=lambda kv: -kv[1][0])[:top]
    return [{"name": name[:NAME_CHARS], "ms": round(ns / 1e6, 4), "count": count,
             "share": round(ns / denominator_ns, 4) if denominator_ns else None}
            for name, (ns, count) in rows]


def summarize_xspace(path, top: int = 25) -> dict[str, Any]:
    """Summary of one .xplane.pb file (see the module docstring)."""
    import jax

    path = pathlib.Path(path)
    data = jax.profiler.ProfileData.from_file(str(path))
    planes = []
    op_sources: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for plane in data.planes:
        is_device = plane.name.startswith("/device:")
        lines = []
        for line in plane.lines:
            totals: dict[str, list] = defaultdict(lambda: [0.0, 0])
            first, last, busy = None, None, 0.0
            for event in line.events:
                duration = float(event.duration_ns)
                start = float(event.start_ns)
                entry = totals[event.name]
                entry[0] += duration
                entry[1] += 1
                busy += duration
                first = start if first is None else min(first, start)
                last = start + duration if last is None else max(last, start + duration)
            if not totals:
                continue
            lines.append({"name": line.name, "events": sum(c for _, c in totals.values()),
                          "busy_ms": round(busy / 1e6, 4),
                          "span_ms": round(((last or 0) - (first or 0)) / 1e6, 4),
                          "top": _top(totals, top, busy)})
            if is_device and line.name == "XLA Ops":
                source = "device XLA Ops lines"
            elif is_device and line.name.startswith("Stream"):
                source = "device stream lines (kernels)"
            elif is_device:
                source = "device lines"
            elif line.name.startswith("tf_XLA"):
                source = "host XLA executor threads"
            else:
                source = None
            if source:
                for name, (ns, count) in totals.items():
                    if name.startswith(WRAPPERS):
                        continue
                    op_sources[source][name][0] += ns
                    op_sources[source][name][1] += count
        if lines:
            planes.append({"name": plane.name, "lines": lines})
    top_ops, top_source, total_ns = [], None, 0.0
    for source in ("device XLA Ops lines", "device stream lines (kernels)", "device lines",
                   "host XLA executor threads"):
        if op_sources.get(source):
            totals = op_sources[source]
            total_ns = sum(ns for ns, _ in totals.values())
            top_ops, top_source = _top(totals, top, total_ns), source
            break
    return {"file": path.name, "size_bytes": path.stat().st_size,
            "top_ops_source": top_source, "top_ops_total_ms": round(total_ns / 1e6, 4),
            "top_ops": top_ops, "planes": planes}


def summarize_dir(profile_dir, top: int = 25) -> dict[str, Any]:
    """Summary of the newest .xplane.pb under `profile_dir` (one per host and run)."""
    files = find_xplanes(profile_dir)
    if not files:
        return {"error": f"no .xplane.pb under {profile_dir}"}
    newest = max(files, key=lambda p: p.stat().st_mtime)
    summary = summarize_xspace(newest, top)
    summary["trace_dir"] = str(pathlib.Path(profile_dir))
    summary["trace_bytes_total"] = sum(p.stat().st_size for p in
                                       pathlib.Path(profile_dir).rglob("*") if p.is_file())
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile_dir")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    summary = summarize_dir(args.profile_dir, args.top)
    text = json.dumps(summary, indent=1)
    if args.out:
        pathlib.Path(args.out).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
