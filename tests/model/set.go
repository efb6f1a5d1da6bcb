package model

// Set function names: "add" inserts a unique key, "del" deletes one.
const (
	FAdd = "add"
	FDel = "del"
)

// SetValue is the value of a set op.
type SetValue struct {
	K int64 `json:"k"`
	// Len is the length of the payload written with the key (0: none;
	// see ValueSizes). Its content is ValueContent(K, Len).
	Len int64 `json:"len,omitempty"`
}

// SetState is the set table read back from the server.
type SetState struct {
	// Missing: the table itself does not exist.
	Missing bool    `json:"missing,omitempty"`
	Keys    []int64 `json:"keys"`
	// Payloads says the snapshot read the payload column; Values then
	// holds every present key whose payload is not empty. Snapshots
	// written before payloads existed have neither.
	Payloads bool                  `json:"payloads,omitempty"`
	Values   map[int64]StoredValue `json:"values,omitempty"`
}
