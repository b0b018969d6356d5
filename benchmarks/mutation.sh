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
# Scores: mutmut results / mutants/mutmut-cicd-stats.json (mutmut export-cicd-stats).
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
mutmut results --all true > mutants/results.txt || true
mutmut export-cicd-stats || true
