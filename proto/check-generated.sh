#!/bin/sh
# Fails when the committed generated code in crashrigpb differs from what
# crashrig.proto generates now (CI runs this).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh gen.sh "$tmp"
# BUILD.bazel is Gazelle's (bazel/gazelle.sh), not protoc's.
if ! diff -ru crashrigpb "$tmp" --exclude='*_test.go' --exclude=BUILD.bazel; then
	echo "proto/crashrigpb is stale: run 'go generate ./proto' and commit the result" >&2
	exit 1
fi
echo "proto/crashrigpb is up to date"
