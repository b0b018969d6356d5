#!/usr/bin/env bash
# Mutation testing of skae's core modules with mutmut (pip install -e ".[mutation]").
#
# Usage: benchmarks/mutation.sh [MODULE ...]     (default: all six, smallest first)
#
# mutmut copies the package into ./mutants, makes one-line changes ("mutants")
# and runs the fast test selection of [tool.mutmut] in pyproject.toml against
# each; a mutant is killed when a test fails. The selection covers the engine
# and the estimators in about a minute on one thread; a full run of the six
# modules takes hours on two cores, so run it per module, in the background:
#   nohup nice -n 10 benchmarks/mutation.sh _noise _outlier > mutation.log 2>&1 &
# Scores per module are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
    modules=(_noise _outlier _optim _networks _training _base)
fi
for module in "${modules[@]}"; do
    echo "== skae/${module}.py  $(date -u +%H:%M:%S)"
    mutmut run --max-children "${MUTMUT_CHILDREN:-1}" "skae.${module}.*"
done
# Per module: killed / checked (survivors listed by `mutmut results`, shown
# with `mutmut show NAME`).
python - <<'PY'
import json
from collections import Counter
from pathlib import Path

for meta in sorted(Path("mutants/skae").glob("*.py.meta")):
    codes = Counter(json.loads(meta.read_text())["exit_code_by_key"].values())
    checked = sum(n for code, n in codes.items() if code is not None)
    if checked:
        killed = checked - codes[0]
        print(
            f"{meta.name[:-5]:<14} {killed:>4} killed / {checked:>4} checked "
            f"({100 * killed / checked:.0f} %), {codes[None]} not run"
        )
PY
