#!/usr/bin/env bash
# Downloads the pure-Python wheels that benchmarks/gpu_suite.sh needs on the GPU machine, which
# reaches no package registry, into benchmarks/wheels/ (git-ignored: name it in the device run's
# `carry`, e.g. carry=["benchmarks/wheels"]). gpu_suite.sh installs them there with
# `pip install --no-index --no-deps --target <scratch>` only if an import is missing.
#
#     bash benchmarks/gpu_wheels.sh [PYTHON]
#
# Which: of the third-party modules the suite's items import at module level (jax, jaxlib,
# flax, optax, numpy, scipy, cv2, yaml, absl, ml_collections, msgpack and their dependencies),
# the GPU image lacks ml_collections alone (/work/.library/device/KINDS.md's package list,
# 2026-11-17). Its requirements, absl-py and PyYAML, are in the image. grain (imported by the
# data pipelines, not by any suite item) ships no py3-none-any wheel: it is not carried.
# Only py3-none-any wheels are accepted (--platform any --abi none), so nothing compiled travels.
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${1:-${PYTHON:-python3}}
DEST="$ROOT/benchmarks/wheels"
mkdir -p "$DEST"
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation py --abi none --platform any -d "$DEST" 'ml_collections==1.1.0'
for wheel in "$DEST"/*.whl; do
  case $wheel in
    *-py3-none-any.whl|*-py2.py3-none-any.whl) echo "ok (pure Python): $(basename "$wheel")" ;;
    *) echo "not pure Python, removed: $wheel" >&2; rm -f "$wheel" ;;
  esac
done
du -sh "$DEST"
