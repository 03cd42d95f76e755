package apply

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// The registration a publish made is recorded by what identifies it, and
// its esr_name with it when that is not the client name, whether the
// answer names it or only the list shows it appear; two publications of
// one connection, published in one run, each get their own.
func TestPublishRecordsTheRegistrationItMade(t *testing.T) {
	for _, tc := range []struct {
		name   string
		suffix string
		silent bool
	}{
		{"answer names it", "", false},
		{"answer names it, another name", "_x1", false},
		{"silent answer", "", true},
		{"silent answer, another name", "_x1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.link.esrSuffix, h.link.silentPublish = tc.suffix, tc.silent
			h.link.publishDelay = 30 * time.Millisecond
			_, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"),
				publication("prod_org", "AcmeAPI"), publication("prod_org", "BillingAPI"))
			if err != nil || s.Created != 3 {
				t.Fatalf("apply: %v %+v", err, s)
			}
			for _, client := range []string{"AcmeAPI", "BillingAPI"} {
				live := h.link.pubs["prod_org/"+client]
				r := h.record(addr.Publication(app, "prod_org", client))
				wantName := ""
				if tc.suffix != "" {
					wantName = client + tc.suffix
				}
				if r == nil || r.RemoteID != live.ESRID || r.RemoteName != wantName {
					t.Errorf("%s: record %+v, live %+v; want its esr_id and esr_name %q", client, r, live, wantName)
				}
			}
		})
	}
}

// A publish whose outcome is unknown and that did not happen is sent
// again: the registration of the same client name that was there before
// does not prove this upload arrived.
func TestAmbiguousPublishIsNotMistakenForTheOldRegistration(t *testing.T) {
	h := newHarness(t)
	h.link.silentPublish = true
	if _, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"), publication("prod_org", "AcmeAPI")); err != nil {
		t.Fatalf("first apply: %v %+v", err, s)
	}
	old := h.link.pubs["prod_org/AcmeAPI"]
	h.link.log = nil
	h.link.ambiguous = map[string]bool{"AcmeAPI": false}
	c := with(publication("prod_org", "AcmeAPI"), plan.Republish)
	c.RemoteID = old.ESRID
	if _, s, err := h.apply(context.Background(), fastOpts(), c); err != nil || s.Republished != 1 {
		t.Fatalf("republish: %v %+v", err, s)
	}
	if got := h.link.logged(); !slices.Equal(got, []string{"POST publication AcmeAPI", "POST publication AcmeAPI"}) {
		t.Errorf("calls %v, want the lost publish sent again", got)
	}
	now := h.link.pubs["prod_org/AcmeAPI"]
	if now.ESRID == old.ESRID {
		t.Fatal("no new registration")
	}
	if r := h.record(c.Address); r == nil || r.RemoteID != now.ESRID {
		t.Errorf("record %+v, want the new registration %s", r, now.ESRID)
	}
}

// A publish whose outcome is unknown but that did happen is recorded by
// the registration that appeared, without a second publish.
func TestAmbiguousPublishThatHappenedIsRecorded(t *testing.T) {
	h := newHarness(t)
	h.link.silentPublish, h.link.esrSuffix = true, "_x1"
	h.link.ambiguous = map[string]bool{"AcmeAPI": true}
	if _, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"), publication("prod_org", "AcmeAPI")); err != nil {
		t.Fatalf("apply: %v %+v", err, s)
	}
	if n := h.link.calls["POST publication"]; n != 1 {
		t.Errorf("%d publishes, want 1", n)
	}
	if r := h.record(addr.Publication(app, "prod_org", "AcmeAPI")); r == nil || r.RemoteName != "AcmeAPI_x1" || r.RemoteID == "" {
		t.Errorf("record %+v", r)
	}
}

// A create planned over a resource listed as disconnected (deleted and
// kept listed for a while, or broken and kept) deletes it first, unless
// protected, then waits for its name and creates.
func TestCreateOverADisconnectedResourceDeletesItFirst(t *testing.T) {
	for _, protected := range []bool{false, true} {
		h := newHarness(t)
		oldID := h.deletedConn(0, 3)
		h.link.conns["prod_org"].Status = client.StatusDisconnected
		c := jwtConn("prod_org")
		c.Wait, c.RemoteID, c.Protected = true, oldID, protected
		c.Before = &plan.Snapshot{Attrs: map[string]string{"id": oldID, "status": client.StatusDisconnected}}
		obs, s, err := h.apply(context.Background(), fastOpts(), c)
		if err != nil || s.Created != 1 {
			t.Fatalf("protected %t: apply: %v %+v", protected, err, s)
		}
		want := []string{"DELETE connection prod_org", "POST connection prod_org"}
		if protected {
			want = want[1:]
		}
		if got := h.link.logged(); !slices.Equal(got, want) {
			t.Errorf("protected %t: calls %v, want %v", protected, got, want)
		}
		if r := h.record(c.Address); r == nil || r.RemoteID == oldID || r.Phase != state.Applied {
			t.Errorf("record %+v", r)
		}
		ev := obs.find(EventStatus, c.Address)
		if ev == nil || ev.RemoteID != oldID {
			t.Errorf("no event about the old one: %+v", ev)
		} else if !protected && !strings.Contains(ev.Message, "deleting the disconnected connection") {
			t.Errorf("event %q", ev.Message)
		}
	}
}
