#!/usr/bin/env bash
# GPU benchmark suite of issue 21 part 2: the paper config (configs/dmtrack_dla34.py) on one GPU,
# in one command of under 8 minutes, every figure written under $OUT.
#
# The one command (on the GPU machine, from the repository root; the wheels folder travels
# with the working tree, see "Wheels" below):
#
#     OUT=/some/dir bash benchmarks/gpu_suite.sh
#
# Through this workplace's device tool, where $OUT is already set: run(command="bash
# benchmarks/gpu_suite.sh", carry=["benchmarks/wheels"], timeout_s=600), after
# `bash benchmarks/gpu_wheels.sh .venv/bin/python` here.
#
# Rehearsal on a CPU (tiny config, 128x160 canvas, a few frames and steps, small batches; every
# item runs end to end in a few minutes):
#
#     OUT=/tmp/gpu_rehearsal DMTRACK_GPU_SUITE_SMALL=1 PYTHON=.venv/bin/python \
#         nice -n 15 bash benchmarks/gpu_suite.sh
#
# Items, in this order (most wanted first; each is one existing benchmark script, run with
# `timeout`; one whose turn comes when the budget is spent is recorded as skipped):
#   track_f32, track_bf16   bench_tracking.py: one sequence at 736x512 (--canvas fixed), JPEG
#                           decode + Tracker.track, frames/s end to end and of the network step,
#                           compile time apart; track_f32 also traces a few frames (profile)
#   batched_b8, batched_b32 bench_network_step.py --batch N --dtype bfloat16: frames/s of the
#                           batched network step (all sequences together)
#   train_b8                bench_train_step.py: pairs/s and MFU of the SOT training step at
#                           512x736, float32 (TF32 on the GPU); also traces a few steps
#   multi_k8                bench_multi_target.py --targets 8: one K = 8 tracker per frame
#                           (against 8 one-target trackers and the FLOP bound)
#   train_b32               as train_b8 at batch 32 (no trace)
#   then, while budget lasts: batched_b8_f32, batched_b32_f32, train_b8_bf16, train_b32_bf16
# DMTRACK_GPU_SUITE_ITEMS="track_f32 train_b8 ..." runs those items only, in that order.
#
# Output ($OUT: the device tool brings back at most 8 files, 2 folders deep, so the suite writes
# six): env.json (python, jax, jaxlib, flax, optax, orbax, torch versions, jax.devices(),
# nvidia-smi, missing modules), summary.json (each item's status, wall time and headline figures,
# the issue's goals against them: >= 300 frames/s one sequence, >= 2000 frames/s batched,
# training MFU >= 40%), results.json (every item's full result JSON), profiles.json (trace
# summaries: top ops by time, benchmarks/trace_summary.py), suite.log (all output), and
# traces.tar.gz (the raw jax.profiler traces, only if under 15 MB). summary.json, results.json
# and profiles.json are rewritten after every item, so a run cut short keeps what it measured.
#
# Environment variables: OUT (required), PYTHON (default python3: on the GPU machine the one
# with JAX for CUDA), DMTRACK_GPU_SUITE_SMALL=1 (rehearsal sizes), DMTRACK_GPU_SUITE_BUDGET_S
# (default 450: seconds for all items; the machine's hard limit is 600), DMTRACK_GPU_SUITE_ITEMS,
# DMTRACK_GPU_SUITE_WORK (scratch folder; default a new one under /tmp).
#
# Wheels: the GPU machine reaches no package registry. Of the modules the benchmarks import,
# its image lacks ml_collections only (KINDS.md's package list, 2026-11-17); grain, which is not
# pure Python, is not imported by any item. `bash benchmarks/gpu_wheels.sh` downloads the pure
# Python wheel(s) into benchmarks/wheels/ (git-ignored: name it in the device run's `carry`);
# this script pip-installs them, with --no-index, into the scratch folder only if an import is
# missing.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
: "${OUT:?set OUT to the output folder}"
PY=${PYTHON:-python3}
SMALL=${DMTRACK_GPU_SUITE_SMALL:-0}
BUDGET=${DMTRACK_GPU_SUITE_BUDGET_S:-450}
WORK=${DMTRACK_GPU_SUITE_WORK:-$(mktemp -d /tmp/dmtrack_gpu_suite.XXXXXX)}
START=$(date +%s)
mkdir -p "$OUT" "$WORK/results" "$WORK/logs" "$WORK/profile"
LOG="$OUT/suite.log"
: >"$LOG"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
log() { echo "[gpu_suite $(($(date +%s) - START))s] $*" | tee -a "$LOG"; }
elapsed() { echo $(($(date +%s) - START)); }

# --- environment: missing modules, wheels, env.json ------------------------------------------
NEEDED="jax jaxlib flax optax numpy scipy cv2 yaml absl ml_collections msgpack"
missing_modules() {  # imported, not only found: a broken install counts as missing
  "$PY" - "$@" <<'EOF'
import importlib, sys
missing = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001
        missing.append(name)
print(" ".join(missing))
EOF
}
MISSING=$(missing_modules $NEEDED)
MISSING_BEFORE=$MISSING
INSTALLED_WHEELS=""
if [ -n "$MISSING" ]; then
  log "missing modules: $MISSING"
  if compgen -G "$ROOT/benchmarks/wheels/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --target "$WORK/site" "$ROOT"/benchmarks/wheels/*.whl 2>&1 | tee -a "$LOG"
    export PYTHONPATH="$PYTHONPATH:$WORK/site"
    INSTALLED_WHEELS=$(cd "$ROOT/benchmarks/wheels" && ls *.whl | tr '\n' ' ')
    MISSING=$(missing_modules $NEEDED)
    log "installed wheels: $INSTALLED_WHEELS; still missing: ${MISSING:-none}"
  else
    log "no benchmarks/wheels/*.whl to install from (bash benchmarks/gpu_wheels.sh, then carry it)"
  fi
fi
NVSMI=""
if command -v nvidia-smi >/dev/null 2>&1; then
  NVSMI=$(timeout 20 nvidia-smi 2>&1)
fi
MODE=$([ "$SMALL" = 1 ] && echo small || echo full)
MODE="$MODE" BUDGET="$BUDGET" MISSING="$MISSING" MISSING_BEFORE="$MISSING_BEFORE" WHEELS="$INSTALLED_WHEELS" NVSMI="$NVSMI" \
  timeout 120 "$PY" - "$OUT/env.json" <<'EOF' 2>&1 | tee -a "$LOG"
import importlib, json, os, platform, subprocess, sys
env = {"mode": os.environ["MODE"], "budget_s": int(os.environ["BUDGET"]),
       "python": sys.version.split()[0], "python_executable": sys.executable,
       "platform": platform.platform(), "nproc": os.cpu_count(),
       "missing_modules": os.environ["MISSING"].split(),
       "missing_before_wheels": os.environ["MISSING_BEFORE"].split(),
       "installed_wheels": os.environ["WHEELS"].split(),
       "env": {k: os.environ.get(k) for k in ("XLA_FLAGS", "JAX_PLATFORMS", "PYTHONPATH",
                                             "CUDA_VISIBLE_DEVICES") if os.environ.get(k)}}
for name in ("jax", "jaxlib", "flax", "optax", "orbax.checkpoint", "torch", "torchvision",
             "numpy", "scipy", "cv2", "ml_collections"):
    try:
        env.setdefault("versions", {})[name] = getattr(importlib.import_module(name),
                                                        "__version__", "?")
    except Exception as err:  # noqa: BLE001
        env.setdefault("versions", {})[name] = f"not importable: {type(err).__name__}: {err}"
try:
    import jax
    devices = jax.devices()
    env["jax_devices"] = [str(d) for d in devices]
    env["jax_backend"] = jax.default_backend()
    env["device_kind"] = devices[0].device_kind
except Exception as err:  # noqa: BLE001
    env["jax_devices"] = f"error: {type(err).__name__}: {err}"
nvsmi = os.environ.get("NVSMI", "")
env["nvidia_smi"] = nvsmi.splitlines() if nvsmi else None
if nvsmi:
    try:
        env["gpu_name"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001
        pass
json.dump(env, open(sys.argv[1], "w"), indent=1)
print(json.dumps({k: env.get(k) for k in ("mode", "python", "versions", "jax_devices",
                                          "gpu_name", "missing_modules")}))
EOF

# --- items -----------------------------------------------------------------------------------
if [ "$SMALL" = 1 ]; then
  CONFIG=tiny; HW=128,160; TRACK_FRAMES=3; NET_FRAMES=3; STEPS=2; MULTI_FRAMES=2
  B1=2; B2=4; CAP_TRACK=240; CAP_NET=150; CAP_TRAIN=240; CAP_MULTI=240
else
  CONFIG=dmtrack_dla34; HW=512,736; TRACK_FRAMES=50; NET_FRAMES=20; STEPS=10; MULTI_FRAMES=10
  B1=8; B2=32; CAP_TRACK=110; CAP_NET=80; CAP_TRAIN=140; CAP_MULTI=100
fi
PROFILE_STEPS=3
MIN_ITEM_S=20   # an item with less than this left is skipped
RESERVE_S=10    # kept for the report and the trace archive

# item NAME KIND CAP SCRIPT ARGS...: runs one benchmark under `timeout`, its results in
# $WORK/results/NAME (DMTRACK_BENCH_RESULTS_DIR), its output in suite.log.
item() {
  local name=$1 kind=$2 cap=$3; shift 3
  local left=$((BUDGET - $(elapsed) - RESERVE_S)) limit status rc t0 wall
  limit=$((cap < left ? cap : left))
  local command="$PY $*"
  if [ "$limit" -lt "$MIN_ITEM_S" ]; then
    log "skip $name: ${left}s of budget left"
    printf '{"item": "%s", "kind": "%s", "status": "skipped", "rc": null, "wall_s": 0, "command": "%s"}\n' \
      "$name" "$kind" "$command" >>"$WORK/status.jsonl"
    return
  fi
  log "run $name (limit ${limit}s): $command"
  t0=$(date +%s%N)
  DMTRACK_BENCH_RESULTS_DIR="$WORK/results/$name" \
    timeout --kill-after=5 "$limit" "$PY" "$@" >"$WORK/logs/$name.log" 2>&1
  rc=$?
  wall=$((($(date +%s%N) - t0) / 1000000))
  wall=$((wall / 1000)).$(printf '%03d' $((wall % 1000)))
  cat "$WORK/logs/$name.log" >>"$LOG"
  tail -n 4 "$WORK/logs/$name.log"
  case $rc in
    0) status=ok ;;
    124|137) status=timeout ;;
    *) status=failed ;;
  esac
  log "$name: $status (rc $rc, ${wall}s)"
  printf '{"item": "%s", "kind": "%s", "status": "%s", "rc": %d, "wall_s": %s, "command": "%s"}\n' \
    "$name" "$kind" "$status" "$rc" "$wall" "$command" >>"$WORK/status.jsonl"
  "$PY" benchmarks/gpu_suite_report.py --work "$WORK" --out "$OUT" >>"$LOG" 2>&1
}

run_item() {
  case $1 in
    track_f32) item track_f32 tracking "$CAP_TRACK" benchmarks/bench_tracking.py --config "$CONFIG" \
      --input-size "$HW" --canvas fixed --frames "$TRACK_FRAMES" --dtype float32 \
      --profile-dir "$WORK/profile/track_f32" --profile-steps "$PROFILE_STEPS" ;;
    track_bf16) item track_bf16 tracking "$CAP_TRACK" benchmarks/bench_tracking.py --config "$CONFIG" \
      --input-size "$HW" --canvas fixed --frames "$TRACK_FRAMES" --dtype bfloat16 ;;
    batched_b8|batched_b32|batched_b8_f32|batched_b32_f32)
      local b=$B1 dtype=bfloat16
      case $1 in *b32*) b=$B2 ;; esac
      case $1 in *_f32) dtype=float32 ;; esac
      item "$1" batched "$CAP_NET" benchmarks/bench_network_step.py --config "$CONFIG" \
        --input-size "$HW" --batch "$b" --frames "$NET_FRAMES" --dtype "$dtype" ;;
    train_b8|train_b32|train_b8_bf16|train_b32_bf16)
      local b=$B1 dtype=float32 profile=()
      case $1 in *b32*) b=$B2 ;; esac
      case $1 in *_bf16) dtype=bfloat16 ;; esac
      [ "$1" = train_b8 ] && profile=(--profile-dir "$WORK/profile/train_b8" \
        --profile-steps "$PROFILE_STEPS")
      item "$1" train "$CAP_TRAIN" benchmarks/bench_train_step.py --config "$CONFIG" \
        --canvas "$HW" --batch "$b" --steps "$STEPS" --dtype "$dtype" "${profile[@]}" ;;
    multi_k8) item multi_k8 multi_target "$CAP_MULTI" benchmarks/bench_multi_target.py \
      --config "$CONFIG" --input-size "$HW" --targets 8 --frames "$MULTI_FRAMES" ;;
    *) log "unknown item $1" ;;
  esac
}

ITEMS=${DMTRACK_GPU_SUITE_ITEMS:-"track_f32 track_bf16 batched_b8 batched_b32 train_b8 multi_k8 train_b32 batched_b8_f32 batched_b32_f32 train_b8_bf16 train_b32_bf16"}
for name in $ITEMS; do
  run_item "$name"
done

# --- traces, summary, table ------------------------------------------------------------------
# Raw traces: those that fit together under 15 MB (the tool's limit is 16 MiB a file), smallest
# first; the others only as their summaries in profiles.json.
KEEP=() KEPT_BYTES=0
for dir in $(du -sb "$WORK"/profile/* 2>/dev/null | sort -n | cut -f2); do
  bytes=$(du -sb "$dir" | cut -f1)
  if [ $((KEPT_BYTES + bytes)) -lt 15000000 ]; then
    KEEP+=("profile/$(basename "$dir")"); KEPT_BYTES=$((KEPT_BYTES + bytes))
  else
    log "raw trace $(basename "$dir") not kept ($bytes bytes; its summary is in profiles.json)"
  fi
done
if [ ${#KEEP[@]} -gt 0 ]; then
  tar -czf "$OUT/traces.tar.gz" -C "$WORK" "${KEEP[@]}" && log "raw traces: ${KEEP[*]} in $OUT/traces.tar.gz"
fi
"$PY" benchmarks/gpu_suite_report.py --work "$WORK" --out "$OUT" --table 2>&1 | tee -a "$LOG"
log "done in $(elapsed)s; results in $OUT (scratch $WORK)"
