package model

// Bank function names.
const (
	FSetupAccounts = "setup-accounts"
	FTransfer      = "transfer"
)

// BankSetup is the value of the setup op creating the accounts 0..N-1 with
// Initial each.
type BankSetup struct {
	Accounts int   `json:"accounts"`
	Initial  int64 `json:"initial"`
}

// Transfer is the value of a transfer op and a row of the transfer log: one
// explicit transaction moves Amount from From to To and inserts the log row
// with ID (a ClientID).
type Transfer struct {
	ID     int64 `json:"id"`
	From   int64 `json:"from"`
	To     int64 `json:"to"`
	Amount int64 `json:"amount"`
}

// BankState is the account table and the transfer log read back.
type BankState struct {
	Missing  bool            `json:"missing,omitempty"`
	Balances map[int64]int64 `json:"balances"`
	Log      []Transfer      `json:"log"`
}
