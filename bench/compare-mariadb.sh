#!/usr/bin/env bash
# compare-mariadb.sh: commit latency and throughput of crashrig-sqlserver
# side by side with Debian's MariaDB, same machine, same disk, same client
# (sysbench over TCP on 127.0.0.1), same data, both fully durable:
#
#   MariaDB:  innodb_flush_log_at_trx_commit=1, binary log off (so
#             sync_binlog does not apply), innodb_doublewrite on (default)
#   crashrig: one journal fsync per commit before the OK packet (always)
#
# Usage (from anywhere inside the repository):
#
#   bench/compare-mariadb.sh                 # defaults below
#   TIME=60 THREADS=4 bench/compare-mariadb.sh
#   RECOVERY_MB=1024 bench/compare-mariadb.sh   # also: time to accept
#                                               # connections on a 1 GiB journal
#
# Knobs (environment): THREADS (1), TABLES (1), TABLE_SIZE (10000),
# TIME (seconds per run, 20), ROUNDS (3), WORKLOADS ("oltp_insert oltp_read_write"),
# BENCH_DIR (where the temp dir goes; default /tmp, i.e. the same
# filesystem for both servers), RECOVERY_MB (0 = skip), CRASHRIG_BIN (use
# this server binary instead of building the tree's).
#
# Each workload is prepared once per server, then run ROUNDS times,
# alternating MariaDB and crashrig, and the median round of each figure is
# reported: on a shared machine the load drifts, and alternating short runs
# exposes both servers to the same drift.
#
# Needs: apt-get install -y mariadb-server sysbench (and Go to build the
# server). Every process started and the temp dir are removed on exit.
set -euo pipefail

THREADS=${THREADS:-1}
TABLES=${TABLES:-1}
TABLE_SIZE=${TABLE_SIZE:-10000}
TIME=${TIME:-20}
ROUNDS=${ROUNDS:-3}
WORKLOADS=${WORKLOADS:-"oltp_insert oltp_read_write"}
BENCH_DIR=${BENCH_DIR:-/tmp}
RECOVERY_MB=${RECOVERY_MB:-0}

die() { echo "compare-mariadb: $*" >&2; exit 1; }

missing=()
for t in mariadbd:mariadb-server mariadb-install-db:mariadb-server mariadb:mariadb-client \
	sysbench:sysbench; do
	cmd=${t%%:*} pkg=${t#*:}
	if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
		missing+=("$cmd (apt package $pkg)")
	fi
done
if { [ -z "${CRASHRIG_BIN:-}" ] || [ "$RECOVERY_MB" -gt 0 ]; } && ! command -v go >/dev/null 2>&1; then
	missing+=("go (Go 1.26 as in README.md, e.g. /usr/local/go/bin on PATH; or set CRASHRIG_BIN)")
fi
if [ ${#missing[@]} -gt 0 ]; then
	die "missing tools: ${missing[*]}; install with: apt-get install -y mariadb-server sysbench"
fi
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "$BENCH_DIR/crashrig-bench.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
}

# wait_sql PORT SECONDS: poll until the server on PORT answers a query.
wait_sql() {
	local port=$1 deadline=$((SECONDS + $2))
	until mariadb --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

if [ -n "${CRASHRIG_BIN:-}" ]; then
	# A prebuilt server, e.g. an older commit's, for before/after figures.
	cp "$CRASHRIG_BIN" "$work/crashrig-sqlserver"
else
	echo "== build crashrig-sqlserver"
	(cd "$repo" && go build -o "$work/crashrig-sqlserver" ./cmd/crashrig-sqlserver)
fi

echo "== start MariaDB ($("$MARIADBD" --version | awk '{print $3}')) on $work/mariadb"
mport=$(free_port)
mariadb-install-db --no-defaults --user=root --datadir="$work/mariadb" \
	--auth-root-authentication-method=normal --skip-test-db >"$work/mariadb-install.log" 2>&1 ||
	die "mariadb-install-db failed: $(tail -20 "$work/mariadb-install.log")"
"$MARIADBD" --no-defaults --user=root --datadir="$work/mariadb" \
	--socket="$work/mariadb.sock" --port="$mport" --bind-address=127.0.0.1 \
	--pid-file="$work/mariadb.pid" --log-error="$work/mariadb.err" \
	--skip-log-bin --innodb-flush-log-at-trx-commit=1 --sync-binlog=1 \
	--innodb-doublewrite=1 --max-connections=500 &
pids+=($!)
wait_sql "$mport" 60 || die "MariaDB did not answer within 60s: $(tail -20 "$work/mariadb.err")"

echo "== start crashrig-sqlserver on $work/crashrig"
cport=$(free_port)
"$work/crashrig-sqlserver" -data-dir "$work/crashrig" -listen "127.0.0.1:$cport" \
	-log-file "$work/crashrig.log" -insecure-no-root-password &
pids+=($!)
wait_sql "$cport" 60 || die "crashrig-sqlserver did not answer within 60s: $(tail -20 "$work/crashrig.log")"

# sb PORT WORKLOAD COMMAND: run sysbench with the shared options.
sb() {
	sysbench "$2" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$1" \
		--mysql-user=root --mysql-db=sbtest --tables="$TABLES" --table-size="$TABLE_SIZE" \
		--threads="$THREADS" --time="$TIME" --report-interval=0 --percentile=95 "$3"
}

# field FILE: "avg p95 tps errors" from a sysbench run's output.
field() {
	awk '/transactions:/ {gsub(/\(/, "", $3); tps=$3}
	     /ignored errors:/ {err=$3}
	     /avg:/ {avg=$2}
	     /95th percentile:/ {p95=$3}
	     END {print avg, p95, tps, err}' "$1"
}

# median VALUES...: the middle value (lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

declare -A res
for w in $WORKLOADS; do
	for srv in mariadb crashrig; do
		port=$mport
		[ $srv = crashrig ] && port=$cport
		echo "== $w on $srv: prepare"
		mariadb --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e 'DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest'
		sb "$port" "$w" prepare >"$work/$w-$srv-prepare.log" 2>&1 ||
			die "sysbench $w prepare on $srv failed: $(tail -20 "$work/$w-$srv-prepare.log")"
	done
	for r in $(seq "$ROUNDS"); do
		for srv in mariadb crashrig; do
			port=$mport
			[ $srv = crashrig ] && port=$cport
			log="$work/$w-$srv-run$r.log"
			sb "$port" "$w" run >"$log" 2>&1 || die "sysbench $w run on $srv failed: $(tail -20 "$log")"
			res[$w-$srv-$r]=$(field "$log")
			printf '   %-16s round %d %-9s avg %s ms, p95 %s ms, %s tps, %s errors (load%s)\n' \
				"$w" "$r" "$srv" ${res[$w-$srv-$r]} "$(uptime | sed 's/.*load average://; s/,.*//')"
		done
	done
	for srv in mariadb crashrig; do
		avgs=() p95s=() tpss=() errs=0
		for r in $(seq "$ROUNDS"); do
			read -r a p t e <<<"${res[$w-$srv-$r]}"
			avgs+=("$a") p95s+=("$p") tpss+=("$t") errs=$((errs + e))
		done
		res[$w-$srv]="$(median "${avgs[@]}") $(median "${p95s[@]}") $(median "${tpss[@]}") $errs"
	done
done

echo
echo "== results: median of $ROUNDS rounds ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load:$(uptime | sed 's/.*load average://'))"
echo "   threads=$THREADS tables=$TABLES table_size=$TABLE_SIZE time=${TIME}s per round, dir $BENCH_DIR ($(df --output=source "$BENCH_DIR" | tail -1))"
printf '%-16s %-9s %10s %10s %10s %8s\n' workload server avg_ms p95_ms tps errors
for w in $WORKLOADS; do
	for srv in mariadb crashrig; do
		read -r avg p95 tps err <<<"${res[$w-$srv]}"
		printf '%-16s %-9s %10s %10s %10s %8s\n' "$w" "$srv" "$avg" "$p95" "$tps" "$err"
	done
	read -r ma mp mt _ <<<"${res[$w-mariadb]}"
	read -r ca cp ct _ <<<"${res[$w-crashrig]}"
	awk -v w="$w" -v ma="$ma" -v mp="$mp" -v mt="$mt" -v ca="$ca" -v cp="$cp" -v ct="$ct" 'BEGIN {
		printf "%-16s ratio crashrig/mariadb: avg latency %.2fx, p95 %.2fx, throughput %.2fx\n",
			w, ca / ma, cp / mp, ct / mt }'
done

if [ "$RECOVERY_MB" -gt 0 ]; then
	echo
	echo "== recovery: fill a ${RECOVERY_MB} MiB journal, restart, time until a query answers"
	kill "${pids[1]}"
	wait "${pids[1]}" 2>/dev/null || true
	(cd "$repo" && go run ./bench/filljournal -data-dir "$work/crashrig-big" -mb "$RECOVERY_MB")
	ls -l "$work/crashrig-big"
	start=$(date +%s.%N)
	"$work/crashrig-sqlserver" -data-dir "$work/crashrig-big" -listen "127.0.0.1:$cport" \
		-log-file "$work/crashrig-big.log" -insecure-no-root-password &
	pids+=($!)
	wait_sql "$cport" 120 || die "crashrig-sqlserver did not answer within 120s: $(tail -20 "$work/crashrig-big.log")"
	end=$(date +%s.%N)
	grep recovered "$work/crashrig-big.log" || true
	awk -v s="$start" -v e="$end" 'BEGIN { printf "start to first answered query: %.3f s\n", e - s }'
	echo "server RSS after recovery: $(ps -o rss= -p "${pids[-1]}") KiB"
fi
