"""Gathers the results of benchmarks/gpu_suite.sh into $OUT (run by the suite after every item,
so that what was measured comes back even if the run is cut short).

    python benchmarks/gpu_suite_report.py --work WORK --out OUT [--table]

Reads WORK/status.jsonl (one line per item: name, kind, status, rc, wall seconds) and each
item's result JSON under WORK/results/<item>/, and writes
  * OUT/results.json: every item's full result (its `profile` moved out), by item;
  * OUT/profiles.json: the trace summaries (top ops by time) of the profiled items;
  * OUT/summary.json: the headline figures of each item and the issue's goals against them.
--table prints the summary as a compact table (the suite's last output). Pure Python: no JAX.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import time
from typing import Any

GOALS = {  # issue 21 (and 9 item 8): the GPU targets
    "tracking": ("one sequence, end to end", 300.0, "frames/s"),
    "batched": ("batched network step, all sequences", 2000.0, "frames/s"),
    "train": ("training MFU", 0.40, "MFU"),
}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _round(value, digits=3):
    return round(value, digits) if _finite(value) else value


def read_status(work: pathlib.Path) -> list[dict[str, Any]]:
    path = work / "status.jsonl"
    if not path.exists():
        return []
    rows = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["item"]] = row  # a later line (finished) replaces an earlier (started)
    return list(rows.values())


def read_result(work: pathlib.Path, item: str) -> dict[str, Any] | None:
    files = sorted((work / "results" / item).glob("*.json"))
    if not files:
        return None
    return json.loads(files[-1].read_text())


def headline(kind: str, result: dict[str, Any]) -> dict[str, Any]:
    """The few figures of one item that the summary and the table show."""
    if kind == "tracking":
        return {"dtype": result.get("dtype"), "canvas_hw": result.get("canvas_hw"),
                "frames_per_s": result.get("frames_per_s_median"),
                "network_frames_per_s": result.get("network_frames_per_s_median"),
                "end_to_end_ms": result.get("end_to_end_ms_median"),
                "compile_s": result.get("compile"), "split_ms": result.get("split_ms_median")}
    if kind == "batched":
        return {"dtype": result.get("dtype"), "canvas_hw": result.get("canvas_hw"),
                "batch": result.get("batch"), "frames_per_s": result.get("frames_per_s"),
                "ms_per_call": result.get("detect_ms_per_call_median"),
                "forward_ms": result.get("forward_ms_median"),
                "compile_s": {"encode": result.get("encode_compile_s"),
                              "detect": result.get("detect_compile_s")}}
    if kind == "multi_target":
        rows = result.get("rows") or [{}]
        row = rows[-1]
        net, e2e = row.get("multi_network_s"), row.get("multi_end_to_end_s")
        return {"dtype": result.get("dtype"), "canvas_hw": result.get("canvas_hw"),
                "targets": row.get("targets"),
                "network_frames_per_s": _round(1.0 / net) if _finite(net) and net else None,
                "frames_per_s": _round(1.0 / e2e) if _finite(e2e) and e2e else None,
                "network_ratio_vs_separate": _round(row.get("network_ratio")),
                "end_to_end_ratio_vs_separate": _round(row.get("end_to_end_ratio")),
                "flop_bound_ratio": _round(row.get("flop_bound_ratio"))}
    if kind == "train":
        return {"dtype": result.get("dtype"), "canvas_hw": result.get("canvas_hw"),
                "batch": result.get("global_batch_pairs"),
                "pairs_per_s": result.get("pairs_per_s_median"),
                "step_s": result.get("step_s_median"), "compile_s": result.get("compile_s"),
                "tflop_per_step": _round((result.get("xla_cost_flops_per_step_lowered")
                                          or float("nan")) / 1e12, 4),
                "tflop_per_step_compiled": _round((result.get("xla_cost_flops_per_step")
                                                   or float("nan")) / 1e12, 4),
                "tflop_per_step_conv_dot": _round((result.get("conv_dot_flops_per_step")
                                                   or float("nan")) / 1e12, 4),
                "achieved_tflops": result.get("achieved_tflops_median"),
                # judged: XLA's count of the lowered step (every op, the model as written)
                "mfu": result.get("mfu_median"),
                "mfu_conv_dot": result.get("mfu_conv_dot_median"),
                "xla_memory_per_device": result.get("xla_memory_per_device")}
    return {}


def goal_rows(items: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, item in items.items():
        kind, fig = item.get("kind"), item.get("figures") or {}
        if kind not in GOALS:
            continue
        text, target, unit = GOALS[kind]
        if kind == "train":
            mfu = fig.get("mfu") or {}
            peak = "bf16" if fig.get("dtype") == "bfloat16" else "tf32"
            value = mfu.get(peak)
            text = f"{text} (vs {peak} peak)" if fig else text
        else:
            value = fig.get("frames_per_s")
        rows.append({"goal": text, "target": target, "unit": unit, "item": name,
                     "measured": value,
                     "met": (value >= target) if _finite(value) else None})
    return rows


def build(work: pathlib.Path, out: pathlib.Path) -> dict[str, Any]:
    results, profiles, items = {}, {}, {}
    for status in read_status(work):
        name = status["item"]
        result = read_result(work, name)
        entry = {k: status.get(k) for k in ("kind", "status", "rc", "wall_s", "command")}
        if result is not None:
            profile = result.pop("profile", None)
            if profile is not None:
                profiles[name] = profile
                entry["profile_top_ops"] = [
                    {"name": op["name"][:80], "ms": op["ms"], "share": op["share"]}
                    for op in (profile.get("top_ops") or [])[:5]]
            results[name] = result
            entry["figures"] = headline(status.get("kind", ""), result)
        items[name] = entry
    env_path = out / "env.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else {}
    summary = {"date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "mode": env.get("mode"), "budget_s": env.get("budget_s"),
               "device": env.get("jax_devices"), "gpu": env.get("gpu_name"),
               "items": items, "goals": goal_rows(items),
               "goals_apply": env.get("mode") == "full"}
    out.mkdir(parents=True, exist_ok=True)
    for name, payload in (("results.json", results), ("profiles.json", profiles),
                          ("summary.json", summary)):
        tmp = out / f".{name}.tmp"
        tmp.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        tmp.replace(out / name)
    return summary


def _fmt(value, digits=1) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _finite(value):
        return f"{value:.{digits}f}"
    return "-" if value is None else str(value)


def table(summary: dict[str, Any]) -> str:
    lines = [f"mode {summary.get('mode')}, device {summary.get('device')} "
             f"({summary.get('gpu') or 'no nvidia-smi'})",
             f"{'item':<26} {'status':<8} {'wall s':>7}  figures"]
    for name, item in summary["items"].items():
        fig = item.get("figures") or {}
        kind = item.get("kind")
        if not fig:
            text = ""
        elif kind == "tracking":
            compile_s = fig.get("compile_s") or {}
            text = (f"{fig.get('dtype')}: {_fmt(fig.get('frames_per_s'))} frames/s end to end, "
                    f"network {_fmt(fig.get('network_frames_per_s'))}; compile "
                    f"{_fmt(compile_s.get('encode_first_call_s'))} + "
                    f"{_fmt(compile_s.get('track_first_call_s'))} s")
        elif kind == "batched":
            compile_s = fig.get("compile_s") or {}
            text = (f"{fig.get('dtype')}, batch {fig.get('batch')}: "
                    f"{_fmt(fig.get('frames_per_s'))} frames/s; compile "
                    f"{_fmt(compile_s.get('encode'))} + {_fmt(compile_s.get('detect'))} s")
        elif kind == "multi_target":
            text = (f"K={fig.get('targets')}: {_fmt(fig.get('frames_per_s'))} frames/s end to "
                    f"end, network {_fmt(fig.get('network_frames_per_s'))}; vs separate "
                    f"{_fmt(fig.get('network_ratio_vs_separate'), 3)} (bound "
                    f"{_fmt(fig.get('flop_bound_ratio'), 3)})")
        elif kind == "train":
            mfu = ", ".join(f"{k} {100 * v:.3g}%" for k, v in (fig.get("mfu") or {}).items()
                            if _finite(v))
            text = (f"{fig.get('dtype')}, batch {fig.get('batch')}: "
                    f"{_fmt(fig.get('pairs_per_s'), 2)} pairs/s, "
                    f"{_fmt(fig.get('tflop_per_step'), 3)} TFLOP/step (XLA), "
                    f"MFU {mfu or '-'}; "
                    f"compile {_fmt(fig.get('compile_s'))} s")
        else:
            text = ""
        if item.get("profile_top_ops"):
            top = item["profile_top_ops"][0]
            text += f"; top op {top['name'][:40]} {_fmt(top['share'] * 100 if _finite(top['share']) else None)}%"
        lines.append(f"{name:<26} {str(item.get('status')):<8} {_fmt(item.get('wall_s')):>7}  "
                     f"{text}")
    lines.append("goals:" if summary.get("goals_apply") else
                 "goals (NOT applicable: small mode, toy sizes; the table only shows the wiring):")
    for row in summary["goals"]:
        unit = row["unit"]
        measured = (f"{100 * row['measured']:.3g}%" if unit == "MFU" and _finite(row["measured"])
                    else _fmt(row["measured"]))
        target = f"{_fmt(100 * row['target'], 0)}%" if unit == "MFU" else _fmt(row["target"], 0)
        met = {True: "MET", False: "not met", None: "not measured"}[row["met"]]
        lines.append(f"  {row['goal']:<36} >= {target:<5} {row['item']:<16} {measured:>9}  {met}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    summary = build(pathlib.Path(args.work), pathlib.Path(args.out))
    if args.table:
        print(table(summary))


if __name__ == "__main__":
    main()
