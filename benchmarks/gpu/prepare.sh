#!/bin/sh
# Run HERE (the development machine), from the repo root, before a device call: puts into .whl/ (ignored
# by git through .git/info/exclude) the wheels the GPU machine lacks, for its Python 3.12: cosmos-run's
# own packages and the two dependencies its image does not hold (PyAV, cattrs; see the device tool's
# KINDS.md package list). About 36 MB, under the 64 MiB a device call carries.
#
#   sh benchmarks/gpu/prepare.sh
#   run(command="sh benchmarks/gpu/embed_engine.sh", carry=[".whl"], timeout_s=540)
set -eu
PY=${PY:-.venv/bin/python}
mkdir -p .git/info .whl
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -f .whl/*.whl
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w .whl packages/core packages/datasets packages/embed
rm -rf packages/core/build packages/datasets/build packages/embed/build  # setuptools' staging copies
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "av==18.1.0" "cattrs==26.2.1"
ls -l .whl
