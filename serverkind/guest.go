package serverkind

// Guest paths: where the agent keeps things inside the VM. The agent uses
// them as its defaults; the control plane uses them to name guest files
// (KillServer, Collect).
const (
	// GuestStateDir holds the agent's durable state on the root disk (the
	// provisioning spec, server configuration that must survive a reset).
	GuestStateDir = "/var/lib/dcrts"
	// GuestDataDir is the mount point of the data disk.
	GuestDataDir = "/data"
	// GuestServersDir holds uploaded server builds.
	GuestServersDir = "/opt/crashrig/servers"
	// GuestRunDir holds per-boot runtime files (a tmpfs: nothing in it
	// survives a reset).
	GuestRunDir = "/run/dcrts"
	// GuestWarmDir holds the throwaway data directory a standby warms a
	// server up on (PrepareServer of a spec without a start gate), on the
	// root disk and readable by the server's own user.
	GuestWarmDir = "/var/lib/dcrts-warm"
	// GuestAgentLog is the agent's log file.
	GuestAgentLog = "/var/log/dcrts.log"
	// PIDFileName, in the run directory, holds the running server's pid.
	PIDFileName = "server.pid"
	// GuestPIDFile is PIDFileName in GuestRunDir.
	GuestPIDFile = GuestRunDir + "/" + PIDFileName
	// GuestDataDevice is the data disk's block device (the VM's second
	// virtio disk).
	GuestDataDevice = "/dev/vdb"
)
