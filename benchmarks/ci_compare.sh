#!/usr/bin/env bash
# Measure a pull request's base and head in the same job, then gate on the comparison.
#
#   ci_compare.sh BASE_REF HEAD_REF [perflab run options...]
#   e.g. ci_compare.sh "$BASE_SHA" "$HEAD_SHA" --profile quick --schema db/app.sql --workload perf/app.yaml
#
# Both commits are checked out as detached git worktrees (your checkout is not touched) and
# measured one after the other by the same perflab on the same machine, so the work counters
# compare exactly and the timings are as comparable as one machine allows. Relative paths in
# the run options are read from each commit's own tree. Then
#   perflab compare OUT/base OUT/head --html OUT/comparison.html --fail-on regression
# decides. No stored baseline, no artifact from another workflow run.
#
# Environment: PERFLAB (the perflab command, default "perflab"), OUT (default "perf-compare";
# OUT/base and OUT/head are new run folders, or run folders perflab made earlier).
# Exit: 0 no regression; 1 a regression (or a run failed); 2 bad input.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: ci_compare.sh BASE_REF HEAD_REF [perflab run options...]" >&2
  exit 2
fi
base_ref=$1
head_ref=$2
shift 2
perflab=${PERFLAB:-perflab}
out=${OUT:-perf-compare}
mkdir -p "$out"
out=$(cd "$out" && pwd)

repo=$(git rev-parse --show-toplevel) || { echo "ci_compare.sh: not in a git repository" >&2; exit 2; }
sha() {
  git -C "$repo" rev-parse --verify --quiet "$1^{commit}" || {
    echo "ci_compare.sh: $1: not a commit (fetch it first: actions/checkout with fetch-depth: 0)" >&2
    exit 2
  }
}
base_sha=$(sha "$base_ref")
head_sha=$(sha "$head_ref")

trees=$(mktemp -d)
cleanup() {
  git -C "$repo" worktree remove --force "$trees/base" 2>/dev/null || true
  git -C "$repo" worktree remove --force "$trees/head" 2>/dev/null || true
  rm -rf "$trees"
}
trap cleanup EXIT
git -C "$repo" worktree add --quiet --detach "$trees/base" "$base_sha"
git -C "$repo" worktree add --quiet --detach "$trees/head" "$head_sha"

echo "ci_compare.sh: base ${base_sha:0:12}, head ${head_sha:0:12}" >&2
# shellcheck disable=SC2086  # PERFLAB may be a command with arguments
(cd "$trees/base" && $perflab run --out "$out/base" "$@")
# shellcheck disable=SC2086
(cd "$trees/head" && $perflab run --out "$out/head" "$@")
# shellcheck disable=SC2086
$perflab compare "$out/base" "$out/head" --html "$out/comparison.html" --fail-on regression
