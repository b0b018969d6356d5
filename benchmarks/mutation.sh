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
#
# SAMPLE=N runs a seeded random sample of N mutants per module instead (all of
# a module's mutants take hours): an estimate of the score, with its binomial
# 95 % interval printed at the end, e.g.
#   SAMPLE=40 MUTMUT_CHILDREN=2 benchmarks/mutation.sh _networks _training _base
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
    modules=(_noise _outlier _optim _networks _training _base)
fi
children="${MUTMUT_CHILDREN:-1}"
if [ -n "${SAMPLE:-}" ]; then
    # One mutant's run generates every module's mutants and the test statistics.
    mutmut run --max-children "$children" "skae._noise.x_corrupt__mutmut_1"
    mapfile -t names < <(python - "$SAMPLE" "${modules[@]}" <<'PY'
import json
import random
import sys

size, modules = int(sys.argv[1]), sys.argv[2:]
for module in modules:
    meta = json.load(open(f"mutants/skae/{module}.py.meta"))
    for name in random.Random(0).sample(sorted(meta["exit_code_by_key"]), size):
        print(name)
PY
    )
    printf '%s\n' "${names[@]}" > mutants/sample.txt
    mutmut run --max-children "$children" "${names[@]}"
else
    for module in "${modules[@]}"; do
        echo "== skae/${module}.py  $(date -u +%H:%M:%S)"
        mutmut run --max-children "$children" "skae.${module}.*"
    done
fi
# Per module: killed / checked (survivors listed by `mutmut results`, shown
# with `mutmut show NAME`).
python - <<'PY'
import json
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}
for meta in sorted(Path("mutants/skae").glob("*.py.meta")):
    codes = json.loads(meta.read_text())["exit_code_by_key"].values()
    status = Counter(status_by_exit_code[code] for code in codes)
    checked = sum(n for name, n in status.items() if name != "not checked")
    if checked:
        killed = sum(status[name] for name in KILLED)
        print(
            f"{meta.name[:-5]:<14} {killed:>4} killed / {checked:>4} checked "
            f"({100 * killed / checked:.0f} %; {status['no tests']} with no test), "
            f"{status['not checked']} not run"
        )
PY
if [ -f mutants/sample.txt ] && [ -n "${SAMPLE:-}" ]; then
    python - <<'PY'
import json
import math
from collections import defaultdict
from pathlib import Path

from mutmut.stats import status_by_exit_code

codes = {}
for meta in Path("mutants/skae").glob("*.py.meta"):
    codes.update(json.loads(meta.read_text())["exit_code_by_key"])
by_module = defaultdict(list)
for name in Path("mutants/sample.txt").read_text().split():
    by_module[name.split(".")[1]].append(codes[name])
for module, results in by_module.items():
    n = len(results)
    killed = sum(
        status_by_exit_code[code] in ("killed", "timeout", "caught by type check")
        for code in results
    )
    p = killed / n  # Wilson score interval, 95 %
    z = 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    print(
        f"sample {module:<10} {killed:>3} killed / {n} ({100 * p:.0f} %, "
        f"95 % interval {100 * (centre - half):.0f}-{100 * (centre + half):.0f} %)"
    )
PY
fi
