package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/export"
	"github.com/applinkctl/applinkctl/internal/liveread"
)

// ExportOptions are what export reads.
type ExportOptions struct {
	Apps        []string // Heroku app names or ids
	Addon       string   // the AppLink add-on, for apps with several; pinned in the manifest
	Parallelism int      // bound on concurrent read calls
	Platform    Opener   // required; opened for no app of a manifest
}

// Export reads the apps' AppLink resources and renders the manifest that
// adopts them.
func Export(ctx context.Context, o ExportOptions) (*export.Result, error) {
	refs := make([]liveread.AppRef, 0, len(o.Apps))
	for _, a := range o.Apps {
		if a = strings.TrimSpace(a); a == "" {
			return nil, fmt.Errorf("export: --app: empty app name")
		}
		refs = append(refs, liveread.AppRef{Name: a, Addon: o.Addon})
	}
	p, stop, err := o.Platform(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer stop()
	w, err := liveread.ReadApps(ctx, p, refs, o.Parallelism)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return export.Render(w, export.Options{PinAddon: o.Addon != ""})
}

// WriteExport writes an exported manifest to dir/applink.yaml, refusing to
// overwrite one unless force, and returns the path written.
func WriteExport(dir string, yaml []byte, force bool) (string, error) {
	return export.WriteFile(dir, yaml, force)
}
