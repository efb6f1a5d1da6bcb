#!/usr/bin/env bash
# powercut-states.sh: crash states checked per minute under the powercut
# nemesis: the states the run continues on (one per cycle) and the extra
# sampled ones (-crash.states=K), from the run summary of a TestCrash run.
#
# Usage (from anywhere inside the repository):
#
#   bench/powercut-states.sh                       # K=0 and K=5, bundled, ext4-ordered, 2 minutes each
#   STATES="0 1 3" DURATION=5m TARGET=mariadb FS=xfs RESTART=reboot bench/powercut-states.sh
#
# Boots QEMU: takes the shared VM lock (/tmp/crashrig-vm.lock) per run.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
STATES=${STATES:-"0 5"}
DURATION=${DURATION:-2m}
TARGET=${TARGET:-bundled}
FS=${FS:-ext4-ordered}
SEED=${SEED:-1}
RESTART=${RESTART:-standby}
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in $STATES; do
	log=$(mktemp)
	flock /tmp/crashrig-vm.lock go test ./tests -count=1 -v -run '^TestCrash$' -timeout 30m \
		-crash.nemesis=powercut -crash.states="$k" -crash.duration="$DURATION" \
		-crash.target="$TARGET" -crash.fs="$FS" -crash.seed="$SEED" -crash.restart="$RESTART" >"$log" 2>&1 || true
	line=$(grep -o 'crash cycles in .*a minute' "$log" | tail -1)
	echo "states=$k: ${line:-no summary (see $log)}"
	[ -n "$line" ] && rm -f "$log"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
