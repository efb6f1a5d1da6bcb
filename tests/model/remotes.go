package model

// Remotes function names (Dolt's remotes; the workload runs on targets
// whose spec lists it).
const (
	// FPush inserts key K, commits and pushes main to the file remote.
	FPush = "push"
	// FClone clones the remote into database Clone.
	FClone = "clone"
	// FPull pulls the remote into the clone Clone.
	FPull = "pull"
	// FRemoteAdd and FRemoteRemove add and remove the remote Remote.
	FRemoteAdd    = "remote-add"
	FRemoteRemove = "remote-remove"
	// FSetupRemotes names the remotes workload's setup ops.
	FSetupRemotes = "setup-remotes"
)

// RemotesValue is the value of a remotes op: the key a push carries, the
// clone a clone or pull names, or the remote an add or remove names.
type RemotesValue struct {
	K      int64  `json:"k,omitempty"`
	Clone  string `json:"clone,omitempty"`
	Remote string `json:"remote,omitempty"`
}

// RemotesState is what the remotes workload reads back.
type RemotesState struct {
	// Missing: the workload's database is gone.
	Missing bool `json:"missing,omitempty"`
	// Remote are the keys of the remote's main branch (fetched).
	Remote []int64 `json:"remote"`
	// Remotes are the remote names besides origin.
	Remotes []string `json:"remotes"`
	// Clones are the clone databases present and their keys; Broken
	// names clones present whose table cannot be read.
	Clones map[string][]int64 `json:"clones"`
	Broken map[string]string  `json:"broken,omitempty"`
}
