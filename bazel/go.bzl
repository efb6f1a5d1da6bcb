"""crashrig_go_test: go_test plus the binaries and VM conventions of crashrig.

Gazelle writes every go_test as crashrig_go_test (`# gazelle:map_kind` in the
root BUILD.bazel) and keeps srcs, embed and deps current; the attributes below
are written by hand and Gazelle leaves them alone.
"""

load("@io_bazel_rules_go//go:def.bzl", "go_test")

# The programs tests copy instead of running `go build` (vmimage.Prebuilt):
# static linux/amd64 binaries, built by Bazel as data dependencies.
_BINARIES_DATA = [
    "//cmd/dcrts",
    "//cmd/crashrig-sqlserver",
    # vmtest keys the cached test image by these files (as under `go test`).
    "//vmimage:image_srcs",
]

_BINARIES_ENV = {
    "CRASHRIG_DCRTS_BIN": "$(rootpath //cmd/dcrts)",
    "CRASHRIG_SQLSERVER_BIN": "$(rootpath //cmd/crashrig-sqlserver)",
}

# Tests that boot QEMU VMs: run unsandboxed (they need /dev/kvm when there is
# one, root for debootstrap and mkfs, and the image cache in
# ~/.cache/crashrig), and only when asked by name: `bazel test //...` skips
# them. Needs root, like `go test` does.
_VM_TAGS = ["manual", "vm", "local"]

def crashrig_go_test(
        name,
        binaries = False,
        vm = False,
        suites = {},
        data = [],
        env = {},
        tags = [],
        args = [],
        **kwargs):
    """A go_test, optionally with crashrig's binaries and VM variants.

    Args:
      name: the test; with vm = True, the whole package as `go test` runs
        it, VM tests included (tagged manual, vm, local).
      binaries: give the test the dcrts and crashrig-sqlserver binaries
        (data + CRASHRIG_DCRTS_BIN / CRASHRIG_SQLSERVER_BIN).
      vm: the package's tests boot VMs. Implies binaries. Also declares
        NAME_short, the same test with -test.short (the VM tests skip and
        say so), which is what `bazel test //...` runs for the package.
      suites: {target name: -test.run pattern} for a vm package: more
        manual, unsandboxed targets, each running only the matching tests
        verbosely, e.g. the crash suite. Flags pass through --test_arg.
      data, env, tags, args: as for go_test.
      **kwargs: passed to go_test.
    """
    if binaries or vm:
        data = data + _BINARIES_DATA
        env = dict(_BINARIES_ENV, **env)
    if not vm:
        go_test(name = name, data = data, env = env, tags = tags, args = args, **kwargs)
        return

    go_test(
        name = name,
        data = data,
        env = env,
        tags = tags + _VM_TAGS,
        args = args,
        timeout = "eternal",
        **kwargs
    )
    go_test(
        name = name + "_short",
        data = data,
        env = env,
        tags = tags + ["short"],
        args = args + ["-test.short"],
        timeout = "long",
        **kwargs
    )
    for suite, pattern in suites.items():
        go_test(
            name = suite,
            data = data,
            env = env,
            tags = tags + _VM_TAGS + ["crash"],
            # args are subject to make-variable expansion: $ is written $$.
            args = args + ["-test.run=" + pattern.replace("$", "$$"), "-test.v"],
            timeout = "eternal",
            **kwargs
        )
