#!/bin/sh
echo "remote_coverage_tools: coverage is not available in the offline Bazel config" >&2
exit 1
