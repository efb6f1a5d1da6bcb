#!/usr/bin/env bash
# reset-breakdown.sh: where a reset's time goes inside a real crash run.
# Runs TestCrash (workloads running, the VM hard-reset every few seconds)
# for one filesystem config, keeps a copy of the VM's console log while the
# run goes on (the run's temp dirs are removed when it passes), and breaks
# every reset down into boot steps with bench/resettimes.
#
# Usage (from anywhere inside the repository; boots a VM, so it takes the
# shared VM lock):
#
#   bench/reset-breakdown.sh                         # bundled server, 1m
#   TARGET=mariadb DURATION=2m bench/reset-breakdown.sh
#
# Knobs (environment): TARGET (crashrig-sqlserver's flavour "bundled" or
# "mariadb"), DURATION (1m), FS (ext4-ordered), OUT (directory for the
# console log, test output and table; default a new temp dir, kept).
# For the same breakdown without workloads, idle and with plain writers:
#   go test ./controlplane -run '^$' -bench ResetBreakdown -benchtime 10x
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
TARGET=${TARGET:-bundled}
DURATION=${DURATION:-1m}
FS=${FS:-ext4-ordered}
OUT=${OUT:-$(mktemp -d /tmp/reset-breakdown-XXXXXX)}
mkdir -p "$OUT/tmp"
export PATH=/usr/local/go/bin:$PATH

# The test's temp dirs go under $OUT/tmp, so its console log is easy to find.
TMPDIR="$OUT/tmp" flock /tmp/crashrig-vm.lock \
	go test ./tests -count=1 -run "^TestCrash\$/^${FS}\$" -v -timeout 30m \
	-crash.duration="$DURATION" -crash.target="$TARGET" -crash.fs="$FS" \
	>"$OUT/test.log" 2>&1 &
test_pid=$!
trap 'kill "$test_pid" 2>/dev/null || true' EXIT
while kill -0 "$test_pid" 2>/dev/null; do
	for f in $(find "$OUT/tmp" -name console.log 2>/dev/null); do
		cp -f "$f" "$OUT/console.log"
	done
	sleep 2
done
trap - EXIT
rc=0
wait "$test_pid" || rc=$?
grep -E '^(--- |ok|FAIL|PASS)|server ready in|crash cycles' "$OUT/test.log" | tail -20 || true
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./bench/resettimes "$OUT/console.log" | tee "$OUT/breakdown.txt"
echo "kept in $OUT (test exit status $rc)"
exit "$rc"
