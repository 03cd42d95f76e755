// Package specdiff says whether a new version of a published OpenAPI spec
// breaks the Salesforce flows, Apex classes and agents that call the API.
//
// Salesforce reads a published spec as External Services do: every
// operation becomes an invocable action named by its operationId, and every
// request and response schema becomes a generated Apex type. So a caller
// breaks not only when an operation, a parameter or a required field goes,
// but also when a field's type or format changes (Integer becomes Long), a
// response field or status code it reads disappears, or the security it
// authenticates with changes.
//
// The comparison is oasdiff's breaking-changes checker, which works on the
// kin-openapi model the manifest already loads specs with; this package
// loads both specs the same way (single file, external references refused,
// origins recorded for line numbers), raises the checks that matter to
// such callers to breaking, and lowers oasdiff's deprecation-policy checks,
// which judge the spec's author rather than break a caller.
package specdiff

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Change is one difference between two versions of a spec that breaks a
// caller of the published API.
type Change struct {
	// ID is oasdiff's name of the check that found it, e.g.
	// "request-parameter-removed"; stable enough to grep a plan for.
	ID string
	// Operation is "METHOD /path", or "" for a change to the document as a
	// whole (a security scheme of components).
	Operation string
	// Message says what changed, e.g. "added the new required `query`
	// request parameter `region`".
	Message string
	// Line and Column locate the change in the new spec: the changed or
	// added element itself, or, for a removal, the nearest element that
	// still holds it (the operation, its path, `paths`, `components`, else
	// the document's first line).
	Line, Column int
}

// String is the change as a plan line: "GET /orders: removed …".
func (c Change) String() string {
	s := c.Message
	if c.Operation != "" {
		s = c.Operation + ": " + s
	}
	return s
}

// Compare reports what in newSpec breaks callers of an API published from
// oldSpec, in document order. Both are OpenAPI 3 documents (YAML or JSON);
// an error means one of them could not be loaded, so nothing is known.
func Compare(oldSpec, newSpec []byte) (_ []Change, err error) {
	// The specs are the user's; a library failing on one of them must not
	// take the plan down with it (the caller counts an error as breaking).
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compare specs: the OpenAPI diff failed: %v", r)
		}
	}()
	base, err := loadSpec(oldSpec, "published")
	if err != nil {
		return nil, fmt.Errorf("published spec: %w", err)
	}
	rev, err := loadSpec(newSpec, "manifest")
	if err != nil {
		return nil, fmt.Errorf("new spec: %w", err)
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), base, rev)
	if err != nil {
		return nil, fmt.Errorf("compare specs: %w", err)
	}
	found := checker.CheckBackwardCompatibilityUntilLevel(config(), d, sources, checker.WARN)
	l := localizer()
	out := make([]Change, 0, len(found))
	seen := map[Change]bool{}
	for _, f := range found {
		c := Change{ID: f.GetId(), Message: f.GetUncolorizedText(l)}
		if f.GetPath() != "" {
			c.Operation = strings.TrimSpace(f.GetOperation() + " " + f.GetPath())
		}
		c.Line, c.Column = locate(rev.Spec, f)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Message, b.Message))
	})
	return out, nil
}

// loadSpec loads one version the way the manifest validates a spec: a
// single file, external references refused, positions recorded. A fresh
// loader per document keeps its cache from mixing the two versions.
func loadSpec(data []byte, name string) (*load.SpecInfo, error) {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	l.IncludeOrigin = true
	doc, err := l.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		var ext *openapi3.DisallowedExternalRefError
		if errors.As(err, &ext) {
			return nil, fmt.Errorf("external $ref %q is not supported", ext.Ref)
		}
		return nil, err
	}
	si := &load.SpecInfo{Url: name, Spec: doc}
	if doc.Info != nil {
		si.Version = doc.Info.Version
	}
	return si, nil
}

// raised are oasdiff checks that it rates informational or a mere warning
// but that break a Salesforce caller, whose actions and Apex types are
// generated from the spec.
var raised = []string{
	// An operation removed after its deprecation is still removed: the
	// flow or Apex class calling it fails.
	"api-path-removed-with-deprecation",
	"api-removed-with-deprecation",
	// The operationId names the invocable action.
	"api-operation-id-removed",
	// A parameter or request field a caller sets, even a deprecated one,
	// no longer exists in the generated type.
	"request-parameter-removed",
	"request-parameter-removed-with-deprecation",
	"request-property-removed",
	"request-property-removed-with-deprecation",
	// A response field or status code a caller reads goes away.
	"response-non-success-status-removed",
	"response-optional-property-removed",
	"response-required-property-removed-with-deprecation",
}

// config is oasdiff's full set of checks with the levels adjusted for
// Salesforce callers: every change of a request or response type is
// breaking (a widened format still changes the generated Apex type), the
// raised checks are breaking, and deprecation and sunset policy checks
// (kind lifecycle) are informational: deprecating an operation breaks
// nobody. Built once: building the rules costs more than a comparison,
// and the checks only read it.
var config = sync.OnceValue(func() *checker.Config {
	known := checker.GetCheckLevels()
	levels := map[string]checker.Level{}
	for _, r := range checker.GetAllRules() {
		switch {
		case r.Kind == checker.KindLifecycle:
			levels[r.Id] = checker.INFO
		case r.Kind == checker.KindType && (r.Direction == checker.DirectionRequest || r.Direction == checker.DirectionResponse):
			levels[r.Id] = checker.ERR
		}
	}
	for _, id := range raised {
		// oasdiff ends the process on a level for a check it does not
		// have; a test keeps the list to known checks.
		if _, ok := known[id]; ok {
			levels[id] = checker.ERR
		}
	}
	return checker.NewConfig(checker.GetAllChecks(), checker.WithSeverityLevels(levels))
})

// localizer renders oasdiff's messages in English; loading its catalogue
// is done once.
var localizer = sync.OnceValue(checker.NewDefaultLocalizer)

// locate finds where a change is in the new spec: where oasdiff saw it
// there, else (a removal) the nearest enclosing element that remains.
func locate(doc *openapi3.T, c checker.Change) (int, int) {
	if s := c.GetRevisionSource(); s != nil && s.Line > 0 {
		return s.Line, max(s.Column, 1)
	}
	if path := c.GetPath(); path != "" && doc.Paths != nil {
		if item := doc.Paths.Value(path); item != nil {
			if op := item.GetOperation(strings.ToUpper(c.GetOperation())); op != nil {
				// A changed operationId is reported as the old one removed:
				// the new one's line is the place to look.
				if c.GetId() == checker.APIOperationIdRemovedId && op.Origin != nil {
					if loc, ok := op.Origin.Fields.Lookup("operationId"); ok && loc.Line > 0 {
						return loc.Line, max(loc.Column, 1)
					}
				}
				if line, col, ok := keyOf(op.Origin); ok {
					return line, col
				}
			}
			if line, col, ok := keyOf(item.Origin); ok {
				return line, col
			}
		}
		if line, col, ok := keyOf(doc.Paths.Origin); ok {
			return line, col
		}
	}
	if doc.Components != nil {
		if line, col, ok := keyOf(doc.Components.Origin); ok {
			return line, col
		}
	}
	return 1, 1 // the document itself
}

func keyOf(o *openapi3.Origin) (int, int, bool) {
	if o == nil || o.Key == nil || o.Key.Line <= 0 {
		return 0, 0, false
	}
	return o.Key.Line, max(o.Key.Column, 1), true
}
