package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const s = "-----BEGIN RSA PRIVATE KEY-----hunter2"
	v := New(s)
	type holder struct {
		Key  Value
		Ptr  *Value
		Name string
	}
	h := holder{Key: v, Ptr: &v, Name: "x"}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, h))
	}
	js, _ := json.Marshal(h)
	outs = append(outs, string(js))
	for _, o := range outs {
		if strings.Contains(o, "hunter2") || strings.Contains(o, "BEGIN") {
			t.Fatalf("secret leaked: %s", o)
		}
	}
	if v.Reveal() != s {
		t.Fatal("Reveal lost the value")
	}
}
