// Package secret holds values that must never be printed: private keys, API
// keys, add-on tokens, SSO payloads and access tokens. A secret.Value formats
// as "[redacted]" under every fmt verb, in JSON and in slog, so a stray %v or
// a log line of a struct that holds one cannot leak it. Only Reveal gives the
// text back, and only code that sends it over the wire calls it.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a secret looks like wherever it is printed.
const Redacted = "[redacted]"

// Value is a secret string.
type Value struct{ s string }

// New wraps s.
func New(s string) Value { return Value{s: s} }

// Reveal returns the secret text. Call it only where the text goes on the wire.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.s == "" }

// String implements fmt.Stringer.
func (v Value) String() string { return Redacted }

// GoString implements fmt.GoStringer so %#v redacts too.
func (v Value) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb (%s, %q, %x, %v, %+v) redacts.
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(Redacted) }
