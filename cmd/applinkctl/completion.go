package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask applinkctl itself what may follow the words
// typed so far (urfave/cli's --generate-bash-completion), so completion
// follows the command definitions without being regenerated. They follow
// urfave/cli's autocomplete scripts, the bash one without their eval of the
// typed words and without needing the bash-completion package.
const bashCompletion = `# bash completion for applinkctl
# Load it with:  source <(applinkctl completion bash)
# or install it: applinkctl completion bash > /etc/bash_completion.d/applinkctl

_applinkctl_completion() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  # The words typed so far are passed as arguments, never evaluated.
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}

complete -o bashdefault -o default -F _applinkctl_completion applinkctl
`

const zshCompletion = `#compdef applinkctl
# zsh completion for applinkctl
# Load it with:  source <(applinkctl completion zsh)
# or install it: applinkctl completion zsh > "${fpath[1]}/_applinkctl"

_applinkctl() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

# Autoloaded from $fpath the file body runs as _applinkctl: complete now.
# Sourced: register the function.
if [ "$funcstack[1]" = "_applinkctl" ]; then
  _applinkctl "$@"
else
  compdef _applinkctl applinkctl
fi
`

// completionShells are the shells `applinkctl completion` writes for.
var completionShells = []string{"bash", "fish", "zsh"}

func completionCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		UsageText: "applinkctl completion bash|zsh|fish\n\n" +
			"Examples:\n" +
			"   source <(applinkctl completion bash)                 # bash, this shell\n" +
			"   applinkctl completion zsh > \"${fpath[1]}/_applinkctl\" # zsh, every shell\n" +
			"   applinkctl completion fish > ~/.config/fish/completions/applinkctl.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("completion: want one shell, one of %s", strings.Join(completionShells, ", "))
			}
			script, err := completionScript(newApp(io), c.Args().First())
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(io.Out, script)
			return err
		},
	}
}

// completionScript returns the completion script of shell for app, which
// must be fresh from newApp: a running app has gained its help command and
// flag, which the fish script would then list twice.
func completionScript(app *cli.App, shell string) (string, error) {
	switch shell {
	case "bash":
		return bashCompletion, nil
	case "zsh":
		return zshCompletion, nil
	case "fish":
		// Fish wants every command and flag spelled out; urfave/cli
		// derives them from the command tree.
		s, err := docApp(app).ToFishCompletion()
		if err != nil {
			return "", fmt.Errorf("completion: fish: %w", err)
		}
		return s, nil
	}
	return "", fmt.Errorf("completion: unknown shell %q: want one of %s", shell, strings.Join(completionShells, ", "))
}

// manCommand prints the man page; `make man` writes it to
// docs/man/applinkctl.1, and a test keeps the committed page equal to the
// command definitions. Hidden: it is for building the docs, not for users.
func manCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the man page (roff) generated from the command definitions",
		UsageText: "applinkctl man\n\n" +
			"Examples:\n" +
			"   applinkctl man > docs/man/applinkctl.1",
		Hidden: true,
		Action: func(c *cli.Context) error {
			page, err := manPage(newApp(io))
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(io.Out, page)
			return err
		},
	}
}

// manPage renders app's man page in section 1; app must be fresh from
// newApp, as for completionScript.
func manPage(app *cli.App) (string, error) {
	page, err := docApp(app).ToManWithSection(1)
	if err != nil {
		return "", fmt.Errorf("man: %w", err)
	}
	return page, nil
}

// docApp is a copy of app for generated documents: newApp appends the
// global flags to every command so they work after the verb, which would
// repeat them under each command of the man page and the fish script. The
// copy lists them once, under the app.
func docApp(app *cli.App) *cli.App {
	global := map[string]bool{}
	for _, f := range globalFlags() {
		global[f.Names()[0]] = true
	}
	cp := *app
	cp.Commands = withoutFlags(app.Commands, global)
	return &cp
}

// withoutFlags copies commands, and their subcommands, leaving out the
// flags named in drop.
func withoutFlags(commands []*cli.Command, drop map[string]bool) []*cli.Command {
	out := make([]*cli.Command, 0, len(commands))
	for _, c := range commands {
		cc := *c
		cc.Flags = slices.DeleteFunc(slices.Clone(c.Flags), func(f cli.Flag) bool { return drop[f.Names()[0]] })
		cc.Subcommands = withoutFlags(c.Subcommands, drop)
		out = append(out, &cc)
	}
	return out
}
