package model

// Register function names: "write" sets a register, "incr" adds 1 to a
// counter.
const (
	FWrite = "write"
	FIncr  = "incr"
)

// RegisterValue is the value of a "write" (ID := V) or "incr" (counter ID
// += 1) op.
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
