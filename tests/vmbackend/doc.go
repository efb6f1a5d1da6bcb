// Package vmbackend runs the crash suites' servers in QEMU VMs through the
// control plane: one VM per run, the server provisioned on the VM's data
// disk with the run's filesystem config, and QMP system_reset as the
// nemesis (a power cut: everything not yet on the virtual disk is lost).
package vmbackend
