// Package qemu runs QEMU for crashrig: a Machine renders one invocation's
// arguments; Start runs it as a Process owned by its caller (it dies with
// its context, with Kill, and with the Go process that started it); disks,
// overlays, free ports, the timestamped console log, QMP and SSH into the
// guest are here too. The installer (vmimage) and the control plane both
// start VMs through this package, so a VM's description flows one way:
// the image says what to boot, the caller adds disks and ports, Start runs
// it.
//
// Every Start takes a host-wide VM slot (see AcquireSlot): VMs under TCG
// are CPU-bound, and a busy 2-core host running several test packages'
// VMs at once made resets take 30 s instead of 8.
package qemu
