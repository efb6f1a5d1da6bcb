#!/usr/bin/env bash
# screenshot.sh REPORT.html OUT.png: load a report.html in headless Chromium
# (Debian's `chromium` package), save a PNG screenshot, and fail on an empty
# page or a console error.
#
#   tests/reporthtml/screenshot.sh /path/to/run-dir/report.html /tmp/report.png
#
# CHROMIUM overrides the browser binary; WINDOW the window size (1400,2000).
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 REPORT.html OUT.png" >&2
	exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
chromium=${CHROMIUM:-chromium}
window=${WINDOW:-1400,2000}
command -v "$chromium" >/dev/null || { echo "$0: $chromium not found (apt-get install -y chromium)" >&2; exit 2; }
[[ -s $report ]] || { echo "$0: $report is missing or empty" >&2; exit 1; }

profile=$(mktemp -d)
log=$(mktemp)
dom=$(mktemp)
trap 'rm -rf "$profile" "$log" "$dom"' EXIT

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir="$profile" --enable-logging=stderr --v=0)

rm -f "$out"
start=$(date +%s.%N)
"$chromium" "${flags[@]}" --window-size="$window" --screenshot="$out" "file://$report" 2>"$log" >/dev/null
end=$(date +%s.%N)
# The rendered DOM, to tell a blank page from one that rendered.
"$chromium" "${flags[@]}" --dump-dom "file://$report" 2>>"$log" >"$dom"

fail=0
if grep -E 'CONSOLE|Uncaught|Failed to load resource' "$log" >&2; then
	echo "$0: console errors while loading $report (above)" >&2
	fail=1
fi
if [[ ! -s $out ]]; then
	echo "$0: no screenshot written" >&2
	exit 1
fi
# A blank 1400x2000 page compresses to a few KB; a rendered report to far more.
size=$(stat -c %s "$out")
if ((size < 30000)); then
	echo "$0: screenshot is only $size bytes: the page looks empty" >&2
	fail=1
fi
for want in '<svg' 'class="verdict' 'id="timeline"'; do
	if ! grep -q "$want" "$dom"; then
		echo "$0: rendered page lacks $want" >&2
		fail=1
	fi
done
printf '%s: %s (%d bytes), load+screenshot %.2fs\n' "$0" "$out" "$size" "$(echo "$end - $start" | bc)"
exit $fail
