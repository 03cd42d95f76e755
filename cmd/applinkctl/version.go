package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version and commit are set at build time with -ldflags "-X main.version=… -X main.commit=…";
// without them the module's build info is used.
var (
	version = ""
	commit  = ""
)

func versionCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print version, commit and Go version",
		UsageText: "applinkctl version\n\n" +
			"Examples:\n   applinkctl version",
		Action: func(c *cli.Context) error {
			v, cm := buildVersion()
			fmt.Fprintf(io.Out, "applinkctl %s\ncommit: %s\ngo: %s %s/%s\n", v, cm, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

func buildVersion() (v, cm string) {
	v, cm = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && cm == "" {
				cm = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if cm == "" {
		cm = "unknown"
	}
	return v, cm
}
