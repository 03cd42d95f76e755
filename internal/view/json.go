package view

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The JSON plan (`plan --format json`) is the saved plan file's format,
// written by internal/planfile, so that what a reviewer's script reads is
// exactly what apply executes; it is documented field by field in
// docs/plan-format.md. The other JSON documents (drift, history, validate)
// are encoded here the same way.

// marshalIndent encodes v indented, with a trailing newline and without
// HTML escaping (diffs hold < and > that should stay readable).
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("json: encode: %w", err)
	}
	return buf.Bytes(), nil
}
