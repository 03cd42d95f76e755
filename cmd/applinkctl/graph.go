package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/pipeline/ghreport"
	"github.com/applinkctl/applinkctl/internal/view"
)

// graphOptions are the inputs of one graph run.
type graphOptions struct {
	IO       streams
	GitHub   ghreport.Reporter
	Files    []string // -f: the resources the manifest declares
	PlanFile string   // --plan: a saved plan whose actions label the nodes
	Format   string   // dot or mermaid
}

func graphCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "graph",
		Usage: "print the dependency graph of the manifest, or of a saved plan with each node's action",
		UsageText: "applinkctl graph -f PATH... [--plan FILE] [--format dot|mermaid]\n" +
			"applinkctl graph --plan FILE [--format dot|mermaid]\n\n" +
			"Nodes are resource addresses grouped by app; an edge runs from each target and publication\n" +
			"to its connection, which apply creates first. When both are deleted, apply deletes the\n" +
			"connection first and the API removes its children with it. With --plan (a file from\n" +
			"`plan --out`) each node shows its planned action, and resources only the plan knows (deletes)\n" +
			"appear too. Reads no live state: no network, no Heroku credentials.\n\n" +
			"Examples:\n" +
			"   applinkctl graph -f applink.yaml | dot -Tsvg > graph.svg\n" +
			"   applinkctl graph -f applink.yaml --plan plan.json --format mermaid",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "manifest `PATH` (file or directory); repeatable"},
			&cli.StringFlag{Name: "plan", Usage: "label nodes with the actions of the saved plan `FILE` (from plan --out)"},
			&cli.StringFlag{Name: "format", Value: view.FormatDot, Usage: "output `FORMAT`: dot (Graphviz) or mermaid"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("graph: unexpected argument %q (manifests go after -f)", c.Args().First())
			}
			return runGraph(graphOptions{IO: io, GitHub: ghreport.New(io.Err), Files: c.StringSlice("file"), PlanFile: c.String("plan"), Format: c.String("format")})
		},
	}
}

// runGraph loads what it was given and prints the graph.
func runGraph(opts graphOptions) error {
	format, err := view.ParseFormat(opts.Format, view.FormatDot, view.FormatMermaid)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if len(opts.Files) == 0 && opts.PlanFile == "" {
		return errors.New("graph: want -f PATH… (the manifest), --plan FILE (a saved plan), or both")
	}
	m, p, err := pipeline.GraphInputs(opts.Files, opts.PlanFile, opts.GitHub.View(opts.IO.Err))
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	g, err := view.DependencyGraph(m, p)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if err := view.RenderGraph(opts.IO.Out, g, view.PlanLabels(p), format); err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	return nil
}
