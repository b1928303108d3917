#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzXxx in a _test.go file) of the repo,
# each for DURATION, one after another, and prints one line per target:
# executions, new corpus entries and whether it found a crasher. A crasher
# is written by `go test` to testdata/fuzz/FuzzXxx/ of its package: commit
# it with the fix, so it stays in the seed corpus.
#
#   bash bench/fuzz.sh 10m              # every target for 10 minutes
#   bash bench/fuzz.sh 30s ReadNPZ      # targets whose name matches a regexp
#
# FUZZ_PARALLEL sets the workers per target (default 1: the machine may be
# shared). FUZZ_MINIMIZE bounds the minimisation of each new corpus entry
# (default 5s; go test's own 60s default can spend a short run minimising,
# and executions while minimising are not counted). Exits non-zero when any
# target failed.
set -euo pipefail

duration=${1:?usage: bench/fuzz.sh DURATION [TARGET_REGEXP]}
filter=${2:-.}
parallel=${FUZZ_PARALLEL:-1}
minimize=${FUZZ_MINIMIZE:-5s}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# module_of DIR: the directory of the go.mod that owns DIR (the sdk is a
# module of its own).
module_of() {
	local d=$1
	while [[ ! -f "$d/go.mod" ]]; do d=$(dirname "$d"); done
	echo "$d"
}

mapfile -t targets < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' . |
	grep -v '/vendor/' |
	while read -r f; do
		dir=$(dirname "$f")
		sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$f" | while read -r name; do echo "$dir $name"; done
	done | sort -u | grep -E " .*${filter}")

if [[ ${#targets[@]} -eq 0 ]]; then
	echo "no fuzz target matches $filter" >&2
	exit 2
fi

printf '%-58s %-26s %14s %8s  %s\n' PACKAGE TARGET EXECUTIONS NEW RESULT
failed=0
for t in "${targets[@]}"; do
	dir=${t% *}
	name=${t#* }
	mod=$(module_of "$dir")
	rel=./${dir#"$mod"/}
	rel=${rel#./.}
	[[ "$dir" == "$mod" ]] && rel=.
	log="$logdir/$(echo "$dir.$name" | tr '/.' '__').log"
	if (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "$minimize" -parallel "$parallel" "./${rel#./}") >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		failed=1
	fi
	# go test prints progress lines "fuzz: elapsed: 3s, execs: 1234 (411/sec), new interesting: 5 (total: 12)".
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
	new=$(grep -oE 'new interesting: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
	if [[ $result == FAIL ]]; then
		crasher=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | head -1 || true)
		result="FAIL ${crasher:-(see below)}"
	fi
	printf '%-58s %-26s %14s %8s  %s\n' "${dir#./}" "$name" "$execs" "$new" "$result"
	if [[ $result != ok ]]; then
		sed 's/^/    /' "$log" | tail -40
	fi
done
exit $failed
