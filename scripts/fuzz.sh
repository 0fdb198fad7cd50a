#!/usr/bin/env bash
# Fuzz depwatch's pure C core with libFuzzer, or replay the committed corpus.
#
#   scripts/fuzz.sh [TARGET...]       fuzz each target (all by default) for
#                                     FUZZ_SECONDS (60) with clang, libFuzzer,
#                                     AddressSanitizer and UBSan; prints a
#                                     summary; exits non-zero on any crash
#   scripts/fuzz.sh --replay TARGET   build TARGET with gcc and the sanitizers
#                                     (no clang needed) and run every file of
#                                     test/fuzz/corpus/TARGET through it once
#
# A target test/fuzz/fuzz_NAME.c exercises src/NAME.c; its seeds and every
# case a run has found live in test/fuzz/corpus/NAME/.  Work files (the
# growing corpus, crash artifacts, binaries) go under FUZZ_DIR (tmp/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
dir=${FUZZ_DIR:-tmp/fuzz}
cflags=(-g -O1 -Wall -Wextra -Werror -Wno-unused-parameter
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
	-Isrc -I"$(pg_config --includedir)")
libs=(-lcurl -lpq)
mkdir -p "$dir"

if [ "${1:-}" = --replay ]; then
	t=$2
	gcc "${cflags[@]}" -o "$dir/replay_$t" test/fuzz/fuzz_"$t".c test/fuzz/replay.c \
		src/"$t".c "${libs[@]}"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$dir/replay_$t" test/fuzz/corpus/"$t"
	exit
fi

if ! command -v clang >/dev/null; then
	echo "clang is missing: run 'make fuzz' (it installs clang) or scripts/deps.sh fuzz" >&2
	exit 1
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in test/fuzz/fuzz_*.c; do
		f=${f#test/fuzz/fuzz_}
		targets+=("${f%.c}")
	done
fi

summary=()
crashed=0
for t in "${targets[@]}"; do
	work=$dir/corpus/$t
	artifacts=$dir/artifacts/$t
	log=$dir/$t.log
	mkdir -p "$work" "$artifacts"
	echo "== fuzz $t: ${seconds}s"
	clang "${cflags[@]}" -fsanitize=fuzzer -o "$dir/fuzz_$t" test/fuzz/fuzz_"$t".c \
		src/"$t".c "${libs[@]}"
	dict=()
	[ -f test/fuzz/"$t".dict ] && dict=(-dict=test/fuzz/"$t".dict)
	rc=0
	"$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		"${dict[@]}" "$work" test/fuzz/corpus/"$t" >"$log" 2>&1 || rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
	cov=$(grep -aoE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
	corpus=$(find "$work" -type f | wc -l)
	found=$(find "$artifacts" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
		crashed=1
		grep -aE 'ERROR: |property failed|runtime error' "$log" | cut -c1-300 | head -5 || true
		find "$artifacts" -type f | sed 's/^/   found: /'
	fi
	summary+=("$(printf '%-16s %8s %12s %8s %8s %8s' "$t" "$seconds" "${execs:-?}" \
		"${cov:-?}" "$corpus" "$found")")
done

echo
printf '%-16s %8s %12s %8s %8s %8s\n' target seconds executions edges corpus crashes
printf '%s\n' "${summary[@]}"
if [ "$crashed" -ne 0 ]; then
	cat >&2 <<EOF

A target crashed or broke a property (logs: $dir/*.log).  Reproduce with
  $dir/fuzz_TARGET ARTIFACT
then fix it, and copy the artifact into test/fuzz/corpus/TARGET/ so that
"make test" replays it from now on.
EOF
	exit 1
fi
