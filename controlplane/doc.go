// Package controlplane is the host side of crashrig: a library embedded in
// tests. It runs the gRPC service the in-guest DCRTS agents dial (on
// loopback only), launches a QEMU VM per test (qcow2 overlay over the image,
// its own data disk, QMP socket, serial log), provisions servers through the
// agent, hard-resets VMs and tells tests about unexpected server exits,
// error log lines and servers that could not be brought back.
//
//	cp, err := controlplane.New(ctx)
//	defer cp.Close()
//	vm, err := cp.StartVM(ctx, controlplane.VMSpec{Image: im})
//	dsn, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.MariaDB})
//	res, err := vm.HardReset(ctx) // res.Timeline, res.ServerRecovery
//	if errors.Is(err, controlplane.ErrServerNotRecovered) { /* a finding */ }
//
// Files: controlplane.go is the gRPC service, session.go one agent stream,
// vm.go a VM's state and the agent commands, events.go the agent's events,
// qemu.go the QEMU lifecycle (start, shutdown, kill, console), reset.go the
// hard reset and its typed result.
//
// Tests use controlplane/cptest, which ties VMs to testing.TB.
package controlplane
