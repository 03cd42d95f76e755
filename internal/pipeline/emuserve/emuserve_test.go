package emuserve

import (
	"testing"
	"time"
)

func TestEmulatorFlagParsers(t *testing.T) {
	if l, j, err := parseLatency("50ms±10ms"); err != nil || l != 50*time.Millisecond || j != 10*time.Millisecond {
		t.Errorf("latency: %v %v %v", l, j, err)
	}
	if l, j, err := parseLatency("2ms+-1ms"); err != nil || l != 2*time.Millisecond || j != time.Millisecond {
		t.Errorf("latency +-: %v %v %v", l, j, err)
	}
	for in, want := range map[string]int{"": 0, "100/min": 100, "60": 60, "120/h": 2, "2/s": 120, "1/h": 1} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("rate %q: %d %v, want %d", in, got, err, want)
		}
	}
	d, err := parseAsyncDelay("connection=2s, target=1s,delete=0s")
	if err != nil || d["connection"] != 2*time.Second || d["target"] != time.Second || len(d) != 3 {
		t.Errorf("async delay: %v %v", d, err)
	}
	for in, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:0": true, "localhost:1": true, "0.0.0.0:1": false, ":1": false, "10.0.0.1:1": false, "nope": false} {
		if loopbackAddr(in) != want {
			t.Errorf("loopback %q: want %v", in, want)
		}
	}
}
