package apply

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// TestRecordIsBuiltOnceAndStampedByTheClock pins that the record apply
// writes for a change is AppliedRecord's, stamped with the injected clock
// and author and nothing else: the planner's tests build their state with
// AppliedRecord, so they see what apply writes.
func TestRecordIsBuiltOnceAndStampedByTheClock(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
	opts := fastOpts()
	opts.Now = func() time.Time { return at }
	c := jwtConn("prod_org")
	if _, _, err := h.apply(context.Background(), opts, c); err != nil {
		t.Fatal(err)
	}
	got := h.record(c.Address)
	if got == nil || got.RemoteID == "" {
		t.Fatalf("record %+v", got)
	}
	want := AppliedRecord(c, got.RemoteID, got.Status, nil)
	want.UpdatedAt, want.UpdatedBy = at.UTC(), opts.Who
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
	if got.InputsDigest != plan.InputsDigest(c.Desired) || got.KeyFingerprint != "sha256:k" || got.Origin != state.Created {
		t.Errorf("record %+v: want the desired inputs, created", got)
	}
}

// TestAppliedRecordOrigin: a resource this run neither created nor
// replaced keeps the origin state gave it (a resumed create stays
// created), else it is adopted; a delete has no record.
func TestAppliedRecordOrigin(t *testing.T) {
	adopt := with(jwtConn("prod_org"), plan.Adopt)
	if r := AppliedRecord(adopt, "id", "connected", nil); r.Origin != state.Adopted || r.Phase != state.Applied || r.InputsDigest == "" {
		t.Errorf("adopted: %+v", r)
	}
	resumed := &state.Resource{Origin: state.Created, Phase: state.Intent, Operation: "create"}
	if r := AppliedRecord(adopt, "id", "connected", resumed); r.Origin != state.Created {
		t.Errorf("resumed create recorded as %s", r.Origin)
	}
	if r := AppliedRecord(with(jwtConn("prod_org"), plan.Delete), "id", "", nil); r != nil {
		t.Errorf("delete: %+v", r)
	}
}
