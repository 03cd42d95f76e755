package plan

import (
	"slices"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/statedata"
)

// The actions of a Repair. The string values are stable: they appear in
// drift JSON.
const (
	// RepairApply: apply --target ADDR creates, recreates, adopts or waits
	// on the resource.
	RepairApply = "apply"
	// RepairPrune: apply --prune deletes what is no longer declared (after
	// state unprotect when state records it as protected).
	RepairPrune = "prune"
	// RepairReplace: only a replace repairs it (of its connection, for a
	// target or publication that cannot change or go alone).
	RepairReplace = "replace"
	// RepairAdopt: declare an unmanaged resource, then apply records it.
	RepairAdopt = "adopt"
	// RepairIgnore: leave an unmanaged resource alone and stop reporting it.
	RepairIgnore = "ignore"
	// RepairByHand: no applinkctl command can; the note says what to do
	// outside it (for instance remove a publication in Salesforce).
	RepairByHand = "by-hand"
)

// Repair is one way to resolve a drift finding.
type Repair struct {
	// Action is one of the Repair* constants.
	Action string
	// Note says what the steps do, and any step by hand they need first.
	Note string
	// Steps are the applinkctl commands to run, in order; none for
	// RepairByHand.
	Steps []Step
}

// Step is one applinkctl command of a repair, without what locates the
// manifest, state and platform: whoever prints it adds the -f paths and
// global flags of the drift run (view.Invocation), so that it works as
// typed.
type Step struct {
	// Verb is the subcommand: "apply", "state unprotect", "export" or
	// "drift".
	Verb string
	// Options are apply's --prune, --target and --replace.
	Options Options
	// Args are the words after the flags: the address of state unprotect,
	// "--app APP" of export, "--ignore ADDR" of drift.
	Args []string
}

// repairsFor is how to resolve f: c is the change a plain apply would make
// at its address and u the delete --prune would (nil when none), each with
// the blocked reason and the way out Diff gave it. It never advises an
// apply that apply would refuse as blocked: with no --replace to unblock
// it, the repair is by hand.
func repairsFor(f Finding, c, u *Change) []Repair {
	a := string(f.Address)
	apply := func(o Options) Step { return Step{Verb: "apply", Options: normOptions(o)} }
	if f.Kind == Unmanaged {
		return []Repair{
			{Action: RepairAdopt,
				Note: "declare it in the manifest (export prints the app's blocks, this one among them); apply then records it without changing it",
				Steps: []Step{{Verb: "export", Args: []string{"--app", f.Address.App()}},
					apply(Options{Targets: []string{a}})}},
			{Action: RepairIgnore, Note: "leave it unmanaged and stop reporting it",
				Steps: []Step{{Verb: "drift", Args: []string{"--ignore", a}}}},
		}
	}
	if u != nil {
		switch {
		case u.Blocked != "" && (u.Protected || len(u.Unblock) == 0):
			note := u.Blocked
			if u.Protected {
				note = "state records it as protected, and " + u.Blocked
			}
			return []Repair{{Action: RepairByHand, Note: note}}
		case u.Protected:
			return []Repair{{Action: RepairPrune,
				Note: "state records it as protected: release it there first, then prune deletes it; to keep it instead, declare it again in the manifest",
				Steps: []Step{{Verb: "state unprotect", Args: []string{a}},
					apply(Options{Prune: true, Targets: []string{a}})}}}
		case u.Blocked != "":
			p := string(u.Unblock[0])
			return []Repair{{Action: RepairReplace, Note: replaceNote(f.Address, p, true),
				Steps: []Step{apply(Options{Prune: true, Replace: []string{p}, Targets: []string{p}})}}}
		}
		return []Repair{{Action: RepairPrune,
			Note:  "deletes it, or only forgets its state record when it is gone live; to keep it instead, declare it again in the manifest",
			Steps: []Step{apply(Options{Prune: true, Targets: []string{a}})}}}
	}
	if c != nil && c.Blocked != "" {
		if len(c.Unblock) == 0 {
			return []Repair{{Action: RepairByHand, Note: c.Blocked}}
		}
		p := string(c.Unblock[0])
		return []Repair{{Action: RepairReplace, Note: replaceNote(f.Address, p, false),
			Steps: []Step{apply(Options{Replace: []string{p}, Targets: []string{p}})}}}
	}
	step := apply(Options{Targets: []string{a}})
	if c != nil && c.Protected && c.Action == Replace {
		return []Repair{{Action: RepairReplace,
			Note:  "it is protected and only a replace repairs it: remove protect: true from its block in the manifest first",
			Steps: []Step{step}}}
	}
	note := map[FindingKind]string{
		Missing: "creates it again as declared",
		Changed: "recreates it as declared",
	}[f.Kind]
	switch {
	case c != nil && c.Action == Noop:
		// Unknown (its connection's children could not be listed), or a
		// status still settling: apply reads it again and waits.
		note = "reads it again and waits for it to settle"
	case note == "":
		note = "applies what the manifest declares for it"
	}
	return []Repair{{Action: RepairApply, Note: note, Steps: []Step{step}}}
}

// replaceNote says what replacing the connection parent of a does: for a
// change, it is recreated with all that is declared under it; for a prune,
// with only that.
func replaceNote(a addr.Address, parent string, prune bool) string {
	what, with := "changed alone", "all its declared"
	if prune {
		what, with = "deleted alone", "only its declared"
	}
	if a.Kind() == addr.KindPublication {
		return "a publication cannot be " + what + ": this recreates its connection " + parent + " with " + with + " publications (or remove the publication in Salesforce)"
	}
	return "a data action target cannot be " + what + ": this recreates its connection " + parent + " with " + with + " targets"
}

// what lists every difference of a finding: its detail first, then the
// change's other reasons when the detail is one of them (a connection whose
// username and key both changed says both).
func what(f Finding, c *Change) []string {
	out := []string{f.Detail}
	if c == nil || !slices.Contains(c.Reasons, f.Detail) {
		return out
	}
	for _, r := range c.Reasons {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// AddSince dates each finding: Since becomes the end of the newest apply in
// records that settled its address (left it as declared). Records of other
// operations, and records without a settled list, date nothing; a finding
// no apply settled keeps a zero Since ("unknown").
func AddSince(fs []Finding, records []statedata.HistoryRecord) {
	newest := map[addr.Address]time.Time{}
	for _, r := range records {
		if r.Operation != "" {
			continue
		}
		at := r.Ended
		if at.IsZero() {
			at = r.Started
		}
		for _, a := range r.Settled {
			if at.After(newest[a]) {
				newest[a] = at
			}
		}
	}
	for i := range fs {
		fs[i].Since = time.Time{}
		if at, ok := newest[fs[i].Address]; ok {
			fs[i].Since = at.UTC()
		}
	}
}
