package view

import (
	"fmt"
	"io"

	"github.com/applinkctl/applinkctl/internal/export"
)

// RenderExportSummary tells the person what export wrote to dest and what
// to do before the first plan: the variables to set, and notes. It goes to
// stderr, so that stdout stays the manifest.
func RenderExportSummary(w io.Writer, dest string, res *export.Result) error {
	n := res.Counts
	fmt.Fprintf(w, "exported %s to %s: %s, %s, %s",
		plural(n.Apps, "app", "apps"), dest,
		plural(n.Connections, "connection", "connections"),
		plural(n.Authorizations, "authorization", "authorizations"),
		plural(n.Targets, "target", "targets"))
	if n.Publications > 0 {
		fmt.Fprintf(w, ", %s (commented out: add their specs)", plural(n.Publications, "publication", "publications"))
	}
	fmt.Fprintln(w)
	for _, note := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", note)
	}
	if len(res.Variables) > 0 {
		fmt.Fprintln(w, "before plan, set:")
		for _, v := range res.Variables {
			if _, err := fmt.Fprintf(w, "  %s  %s: %s\n", v.Name, v.Address, v.Purpose); err != nil {
				return err
			}
		}
	}
	return nil
}
