package checker

import (
	"encoding/json"
	"fmt"
)

func jsonUnmarshal(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", raw, err)
	}
	return nil
}
