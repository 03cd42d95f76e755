package main

import (
	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
)

func schemaCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "print the JSON Schema of the manifest",
		UsageText: "applinkctl schema\n\n" +
			"Prints the JSON Schema (draft 2020-12) that validate checks every manifest file against;\n" +
			"schema/applink.schema.json in the repository is this output. Point an editor at it with\n" +
			"   # yaml-language-server: $schema=schema/applink.schema.json\n\n" +
			"Examples:\n" +
			"   applinkctl schema\n" +
			"   applinkctl schema > applink.schema.json",
		Action: func(c *cli.Context) error {
			_, err := io.Out.Write(pipeline.Schema())
			return err
		},
	}
}
