package client

import (
	"bytes"
	"fmt"
	"time"
)

// Time is an API timestamp. The server writes RFC 3339 in UTC with
// microseconds (2025-03-06T18:20:42.226577Z); Time reads it with or without
// the fraction, since one of the runtime SDKs chokes on the other form and
// servers differ, and writes it with microseconds.
type Time struct{ time.Time }

const wireTime = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON writes microseconds in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(wireTime) + `"`), nil
}

// UnmarshalJSON reads RFC 3339 with or without a fraction, or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte(`""`)) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("timestamp: want a string, got %.40s", b)
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	t.Time = v
	return nil
}
