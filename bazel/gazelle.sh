#!/usr/bin/env bash
# Runs Gazelle (the version WORKSPACE uses) on this repository.
#
#   bazel/gazelle.sh                update the BUILD files from the Go sources
#   bazel/gazelle.sh update-repos   update deps.bzl from go.mod
#   bazel/gazelle.sh check          fail if the BUILD files or deps.bzl are
#                                   not current (CI runs this)
#
# Gazelle is built with `go install` through the Go module proxy, so this
# needs neither Bazel nor GitHub; the binary is cached under
# ~/.cache/crashrig/bazel/bin.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=v0.26.0
bindir=${CRASHRIG_BAZEL_OFFLINE:-${XDG_CACHE_HOME:-$HOME/.cache}/crashrig/bazel}/bin/gazelle-$version
gazelle=$bindir/gazelle

if [ ! -x "$gazelle" ]; then
	mkdir -p "$bindir"
	GOBIN=$bindir GOFLAGS=-mod=mod go install "github.com/bazelbuild/bazel-gazelle/cmd/gazelle@$version"
fi

# Gazelle 0.26 predates log/slog, slices, math/rand/v2, ...: it asks `go list`
# for their module, fails, and (rightly) adds no dependency. Hide that noise,
# show everything else.
quiet() {
	"$@" 2> >(grep -Ev 'finding module path for import [a-z0-9]+(/[a-z0-9]+)*: .*nil pointer evaluating \*modinfo.ModulePublic.Path' >&2)
}

update_repos() {
	"$gazelle" update-repos -repo_root="$1" -from_file="$1/go.mod" \
		-to_macro=deps.bzl%go_dependencies -build_file_proto_mode=disable_global -prune
}

cd "$repo"
case "${1:-}" in
"")
	quiet "$gazelle" -repo_root="$repo"
	;;
update-repos)
	update_repos "$repo"
	;;
check)
	ok=true
	if ! quiet "$gazelle" -repo_root="$repo" -mode=diff; then
		echo "BUILD files are not current: run bazel/gazelle.sh and commit the result" >&2
		ok=false
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp WORKSPACE go.mod go.sum deps.bzl "$tmp/"
	update_repos "$tmp"
	if ! diff -u deps.bzl "$tmp/deps.bzl"; then
		echo "deps.bzl is not current with go.mod: run bazel/gazelle.sh update-repos and commit the result" >&2
		ok=false
	fi
	$ok
	echo "BUILD files and deps.bzl are current"
	;;
*)
	echo "usage: $0 [update-repos|check]" >&2
	exit 2
	;;
esac
