package model

// Set function names: "add" inserts a unique key, "del" deletes one.
const (
	FAdd = "add"
	FDel = "del"
)

// SetValue is the value of a set op.
type SetValue struct {
	K int64 `json:"k"`
}

// SetState is the set table read back from the server.
type SetState struct {
	// Missing: the table itself does not exist.
	Missing bool    `json:"missing,omitempty"`
	Keys    []int64 `json:"keys"`
}
