package model

// Register function names: "write" sets a register (to the larger of its
// value and the one written), "read" reads one, "incr" adds 1 to a
// counter.
const (
	FWrite = "write"
	FRead  = "read"
	FIncr  = "incr"
)

// RegisterValue is the value of a "write" (ID := max(ID, V)), "read" (in
// the ok completion: ID reads V, 0 for a register without a row) or "incr"
// (counter ID += 1) op.
type RegisterValue struct {
	ID int64 `json:"id"`
	V  int64 `json:"v,omitempty"`
}

// RegisterState is the register and counter tables read back.
type RegisterState struct {
	Missing   bool            `json:"missing,omitempty"`
	Registers map[int64]int64 `json:"registers"`
	Counters  map[int64]int64 `json:"counters"`
}
