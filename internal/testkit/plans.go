package testkit

import (
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// Plans built by hand for the tests of what renders and saves them
// (internal/view, internal/planfile): their golden files are made from
// these, so both packages must see the same ones.

// Snapshot is a plan snapshot of key, value pairs.
func Snapshot(kv ...string) *plan.Snapshot {
	s := &plan.Snapshot{Attrs: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Attrs[kv[i]] = kv[i+1]
	}
	return s
}

// SpecDiff is a unified diff of a spec, as a publication change holds one.
const SpecDiff = `--- a/api-spec.yaml
+++ b/api-spec.yaml
@@ -8,9 +8,12 @@
 paths:
   /orders:
+    post:
+      operationId: createOrder
+      summary: Create an <order>
     get:
       operationId: listOrders
-  /legacy:
-    get:
-      operationId: legacy
`

// FullPlan covers every action and every decoration the views know:
// cascades under their cause, a blocked change, waits, protect, a spec diff
// (one truncated), noops (hidden), unmanaged resources.
func FullPlan() *plan.Plan {
	eventsDC := addr.Connection("acme-api", "events_dc")
	sfWeb := addr.Connection("acme-web", "sf")
	return &plan.Plan{
		Changes: []*plan.Change{
			// deliberately out of order: renderers sort
			{
				Address: addr.Publication("acme-web", "sf", "WebAPI"), Kind: addr.KindPublication, Action: plan.Republish,
				Reasons: []string{"connection is replaced"}, CausedBy: sfWeb, DependsOn: []addr.Address{sfWeb},
				Before: Snapshot("spec_digest", "sha256:aaa"), After: Snapshot("spec_digest", "sha256:aaa"),
			},
			{
				Address: sfWeb, Kind: addr.KindConnection, Action: plan.Replace, RemoteID: "c-web-1",
				Reasons: []string{"login_url changed"},
				// the reason does not name the values: the view shows them
				Before: Snapshot("type", "salesforce", "login_url", "https://login.salesforce.com", "status", "connected", "id", "c-web-1"),
				After:  Snapshot("type", "salesforce", "login_url", "https://test.salesforce.com"),
			},
			{
				Address: addr.Connection("acme-api", "prod_org"), Kind: addr.KindConnection, Action: plan.Create,
				Reasons: []string{"not found live"}, Protected: true,
				After: Snapshot("type", "salesforce", "client_id", "3MVG9abc", "username", "api.user@acme.com", "key_fingerprint", "sha256:1111"),
			},
			{
				Address: addr.Publication("acme-api", "prod_org", "AcmeAPI"), Kind: addr.KindPublication, Action: plan.Republish,
				Reasons:   []string{"spec changed: +1 −1 operations"},
				DependsOn: []addr.Address{addr.Connection("acme-api", "prod_org")},
				Before:    Snapshot("spec_digest", "sha256:old"), After: Snapshot("spec_digest", "sha256:new"),
				Spec: &plan.SpecChange{
					Added: []string{"POST /orders"}, Removed: []string{"GET /legacy"}, Changed: []string{"GET /orders"},
					UnifiedDiff: SpecDiff, Truncated: true,
					File: "api/openapi.yaml",
					Breaking: []specdiff.Change{
						{ID: "api-path-removed-without-deprecation", Operation: "GET /legacy", Message: "API path removed without deprecation", Line: 7, Column: 1},
						{ID: "request-parameter-removed", Operation: "GET /orders", Message: "deleted the `query` request parameter `status`", Line: 9, Column: 5},
					},
				},
			},
			{
				Address: eventsDC, Kind: addr.KindConnection, Action: plan.Replace, RemoteID: "c-dc-9",
				Reasons: []string{"status is failed (org_connection_failed)"},
				Before:  Snapshot("type", "datacloud", "status", "failed"), After: Snapshot("type", "datacloud"),
			},
			{
				Address: addr.Target("acme-api", "events_dc", "Order_Events"), Kind: addr.KindTarget, Action: plan.Replace,
				Reasons: []string{"because acme-api/connection/events_dc is replaced"}, CausedBy: eventsDC,
				DependsOn: []addr.Address{eventsDC},
				Before:    Snapshot("api_name", "Order_Events", "target_endpoint", "/handle"),
				After:     Snapshot("api_name", "Order_Events", "target_endpoint", "/handle"),
			},
			{
				Address: addr.Connection("acme-api", "stream_dc"), Kind: addr.KindConnection, Action: plan.Noop,
				Before: Snapshot("type", "datacloud"), After: Snapshot("type", "datacloud"),
			},
			{
				Address: addr.Target("acme-api", "stream_dc", "Invoices"), Kind: addr.KindTarget, Action: plan.Replace,
				Reasons: []string{"target_endpoint changed (/old → /new)"}, // names both values: no attribute line
				Blocked: "a target cannot be changed alone; use --replace acme-api/connection/stream_dc to recreate the connection and all its targets",
				Before:  Snapshot("target_endpoint", "/old"), After: Snapshot("target_endpoint", "/new"),
			},
			{
				Address: addr.Authorization("acme-api", "ci_auth"), Kind: addr.KindAuthorization, Action: plan.Noop, Wait: true,
				Reasons: []string{"status is authorizing"}, RemoteID: "a-77",
			},
			{
				Address: addr.Authorization("acme-api", "old_auth"), Kind: addr.KindAuthorization, Action: plan.Delete,
				Reasons: []string{"no longer in the manifest (--prune)"}, RemoteID: "a-12",
				Before: Snapshot("type", "salesforce", "status", "authorized"),
			},
			{
				Address: addr.Target("acme-api", "gone_dc", "Old_Events"), Kind: addr.KindTarget, Action: plan.Delete,
				Reasons: []string{"deleted with its connection"}, CausedBy: addr.Connection("acme-api", "gone_dc"),
				DependsOn: []addr.Address{addr.Connection("acme-api", "gone_dc")},
				Before:    Snapshot("api_name", "Old_Events"),
			},
			{
				Address: addr.Connection("acme-api", "gone_dc"), Kind: addr.KindConnection, Action: plan.Delete,
				Reasons: []string{"no longer declared in the manifest"}, RemoteID: "c-gone",
				Before: Snapshot("type", "datacloud", "status", "connected"),
			},
			{
				Address: addr.Connection("acme-api", "legacy_org"), Kind: addr.KindConnection, Action: plan.Adopt,
				Reasons: []string{"exists live but not in state"}, RemoteID: "c-3",
				Before: Snapshot("type", "salesforce"), After: Snapshot("type", "salesforce"),
			},
			{
				Address: addr.Connection("acme-api", "retry_org"), Kind: addr.KindConnection, Action: plan.Create, Wait: true,
				Reasons: []string{"state holds an unfinished create; apply looks it up by name first"},
			},
		},
		Unmanaged:     []addr.Address{"acme-web/authorization/manual", "acme-api/connection/mystery"},
		Options:       plan.Options{Prune: true, Replace: []string{"acme-web/connection/sf"}},
		ManifestFiles: []string{"applink.yaml", "more/apps.yaml"},
		Fingerprints: plan.Fingerprints{
			Live:  "sha256:live",
			State: "sha256:state",
			Keys:  map[addr.Address]string{addr.Connection("acme-api", "prod_org"): "sha256:1111"},
			Specs: map[addr.Address]string{addr.Publication("acme-api", "prod_org", "AcmeAPI"): "sha256:new"},
		},
	}
}

// NoopPlan has only unchanged resources.
func NoopPlan() *plan.Plan {
	return &plan.Plan{
		Changes: []*plan.Change{
			{Address: addr.Connection("acme-api", "prod_org"), Kind: addr.KindConnection, Action: plan.Noop,
				Before: Snapshot("type", "salesforce"), After: Snapshot("type", "salesforce")},
		},
		ManifestFiles: []string{"applink.yaml"},
		Fingerprints:  plan.Fingerprints{Live: "sha256:live", State: "sha256:state"},
	}
}

// BigPlan is large enough to be truncated by a small Markdown cap.
func BigPlan() *plan.Plan {
	p := &plan.Plan{ManifestFiles: []string{"applink.yaml"}}
	for a := 0; a < 3; a++ {
		app := fmt.Sprintf("app-%d", a)
		for i := 0; i < 8; i++ {
			p.Changes = append(p.Changes, &plan.Change{
				Address: addr.Publication(app, "sf", fmt.Sprintf("API%02d", i)), Kind: addr.KindPublication,
				Action: plan.Republish, Reasons: []string{"spec changed: +1 −1 operations"},
				Spec: &plan.SpecChange{Added: []string{"POST /orders"}, Removed: []string{"GET /legacy"}, UnifiedDiff: SpecDiff,
					File: "api/openapi.yaml", Breaking: []specdiff.Change{{ID: "api-path-removed-without-deprecation", Operation: "GET /legacy", Message: "API path removed without deprecation", Line: 7, Column: 1}}},
			})
		}
	}
	return p
}
