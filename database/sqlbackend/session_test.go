package sqlbackend

import "testing"

func TestStatementClassification(t *testing.T) {
	for q, want := range map[string]string{
		"BEGIN":                      "BEGIN",
		"  /* app */ begin;":         "BEGIN",
		"start transaction":          "START",
		"(SELECT 1)":                 "SELECT",
		"/* unterminated comment":    "",
		"insert into t values (1)":   "INSERT",
		"INSERT(id) VALUES (1)":      "INSERT",
		"set password = 'x'":         "SET",
		"SET @@autocommit = 0":       "SET",
		"\n\tUPDATE t SET n = n + 1": "UPDATE",
	} {
		if got, _ := firstWord(q); got != want {
			t.Errorf("firstWord(%q) = %q, want %q", q, got, want)
		}
	}
	for q, want := range map[string]bool{
		"INSERT INTO t VALUES (1)": true,
		"/* x */ delete from t":    true,
		"set password = 'x'":       true,
		"SET @@autocommit = 0":     false,
		"SELECT * FROM t":          false,
		"BEGIN":                    false,
	} {
		if got := writeStatement(q); got != want {
			t.Errorf("writeStatement(%q) = %v, want %v", q, got, want)
		}
	}
}
