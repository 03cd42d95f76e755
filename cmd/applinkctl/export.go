package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/view"
)

// exportOptions are the inputs of one export run.
type exportOptions struct {
	IO streams
	// Platform opens the client to read with: export only reads, so in
	// the sandbox too it asks for no app to be created.
	Platform    pipeline.Opener
	Apps        []string
	Addon       string // --addon: for every app; "" = each app's only AppLink add-on
	OutDir      string // -o: write OutDir/applink.yaml; "" = stdout
	Force       bool
	Parallelism int
}

func exportCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a manifest describing the AppLink resources that exist now",
		UsageText: "applinkctl export --app APP... [--addon X] [-o DIR [--force]]\n\n" +
			"Reads each app's connections, authorizations and data action targets and prints a manifest\n" +
			"that adopts them: its first plan shows only adopt and noop. What the API does not return\n" +
			"becomes a ${VAR} reference with a comment (JWT client ids and keys) or a commented entry\n" +
			"(publications, whose specs are not returned); the variables to set are listed on stderr.\n" +
			"With -o, writes DIR/applink.yaml and refuses to overwrite it unless --force.\n\n" +
			"Examples:\n" +
			"   applinkctl export --app acme-api > applink.yaml\n" +
			"   applinkctl export --app acme-api --app acme-worker -o infra/\n" +
			"   applinkctl export --app acme-api --addon heroku-applink-vertical-01234 -o infra/ --force",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "app", Aliases: []string{"a"}, Usage: "Heroku `APP` name or id to export; repeatable", Required: true},
			&cli.StringFlag{Name: "addon", Usage: "AppLink add-on `NAME` or id (for an app with several); written as addon:"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write `DIR`/applink.yaml instead of printing to stdout"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite an existing DIR/applink.yaml"},
			&cli.IntFlag{Name: "parallelism", Value: pipeline.DefaultReadParallelism, Usage: "at most `N` read calls at once (reads change nothing; lower it to spare a rate limit shared with other tools)"},
		},
		Action: func(c *cli.Context) error {
			f := newFactory(c, io)
			return runExport(c.Context, exportOptions{
				IO:          io,
				Platform:    f.Opener(),
				Apps:        c.StringSlice("app"),
				Addon:       c.String("addon"),
				OutDir:      c.String("output"),
				Force:       c.Bool("force"),
				Parallelism: c.Int("parallelism"),
			})
		},
	}
}

// runExport reads the apps, renders the manifest and writes it to stdout or
// DIR/applink.yaml; what to do next goes to stderr.
func runExport(ctx context.Context, opts exportOptions) error {
	io := opts.IO
	if opts.Force && opts.OutDir == "" {
		return fmt.Errorf("export: --force needs -o DIR")
	}
	if opts.Parallelism < 1 {
		return fmt.Errorf("export: --parallelism %d: want at least 1", opts.Parallelism)
	}
	res, err := pipeline.Export(ctx, pipeline.ExportOptions{Apps: opts.Apps, Addon: opts.Addon, Parallelism: opts.Parallelism, Platform: opts.Platform})
	if err != nil {
		return err
	}
	dest := "stdout"
	if opts.OutDir == "" {
		if _, err := io.Out.Write(res.YAML); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	} else {
		if dest, err = pipeline.WriteExport(opts.OutDir, res.YAML, opts.Force); err != nil {
			return err
		}
	}
	return view.RenderExportSummary(io.Err, dest, res)
}
