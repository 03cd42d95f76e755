package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline/stateops"
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

// fishAddresses completes resource addresses in fish, which urfave/cli's
// generated script knows nothing of: like bash and zsh, it asks applinkctl
// itself with the words typed so far (see completeAddresses).
const fishAddresses = `
# Resource addresses recorded in the selected state: asked of applinkctl
# with the words typed so far, which are passed as arguments, never evaluated.
function __fish_applinkctl_addresses
    set -l words (commandline -opc)
    command $words --generate-bash-completion 2>/dev/null
end
complete -c applinkctl -n '__fish_seen_subcommand_from show unprotect' -f -a '(__fish_applinkctl_addresses)'
complete -c applinkctl -n '__fish_seen_subcommand_from plan apply' -l target -x -a '(__fish_applinkctl_addresses)'
complete -c applinkctl -n '__fish_seen_subcommand_from plan apply' -l replace -x -a '(__fish_applinkctl_addresses)'
complete -c applinkctl -n '__fish_seen_subcommand_from drift' -l ignore -x -a '(__fish_applinkctl_addresses)'
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
		return s + fishAddresses, nil
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

// addressCompletions are the places where a word is a resource address
// (or a pattern of them) that shell completion offers from state: the
// value of these flags of these commands, and the ADDRESS argument of
// these state subcommands.
var (
	addressFlags = map[string][]string{"plan": {"target", "replace"}, "apply": {"target", "replace"}, "drift": {"ignore"}}
	addressArgs  = map[string]bool{"state show": true, "state unprotect": true}
)

// completeAddresses answers a shell's completion request (args ending in
// --generate-bash-completion) when the word being completed is a resource
// address: it prints, one a line, the addresses recorded in the state the
// command would use, selected by the same -f, --state, --workspace and
// --sandbox (and APPLINKCTL_STATE, APPLINKCTL_WORKSPACE), and reports
// true. It takes no lock, writes nothing and makes no network call: a
// Postgres state offers nothing. Any error offers nothing, silently: a
// completion must never print an error into the command line. Other
// requests are left to urfave/cli (false).
func completeAddresses(ctx context.Context, app *cli.App, args []string, lookup func(string) (string, bool), out io.Writer) bool {
	if len(args) < 2 || args[len(args)-1] != completionFlag {
		return false
	}
	words := args[1 : len(args)-1]
	flags, subs := app.Flags, app.Commands
	var path []string
	vals := map[string][]string{}
	pending := ""
	positional := 0
	for i := 0; i < len(words); i++ {
		a := words[i]
		if a == "--" {
			return false
		}
		pending = ""
		if len(a) > 1 && a[0] == '-' {
			name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
			f := flagNamed(flags, name)
			if f == nil {
				continue
			}
			canon := f.Names()[0]
			if takesValue(f) && !hasVal {
				if i+1 == len(words) {
					pending = canon
					continue
				}
				i++
				val = words[i]
			}
			vals[canon] = append(vals[canon], val)
			continue
		}
		if len(subs) > 0 && positional == 0 {
			if sub := findCommand(subs, a); sub != nil {
				path = append(path, sub.Name)
				flags, subs = sub.Flags, sub.Subcommands
				continue
			}
		}
		positional++
	}
	cmd := strings.Join(path, " ")
	switch {
	case pending != "" && slices.Contains(addressFlags[cmd], pending):
	case pending == "" && addressArgs[cmd] && positional == 0:
	default:
		return false
	}
	for _, a := range recordedAddresses(ctx, vals, lookup) {
		fmt.Fprintln(out, a)
	}
	return true
}

// recordedAddresses are the addresses in the state that the flag values
// vals select, sorted; none on any error or for a Postgres state.
func recordedAddresses(ctx context.Context, vals map[string][]string, lookup func(string) (string, bool)) []string {
	last := func(name, env string) string {
		if v := vals[name]; len(v) > 0 {
			return v[len(v)-1]
		}
		v, _ := lookup(env)
		return v
	}
	f := &factory{State: last("state", "APPLINKCTL_STATE"), Workspace: last("workspace", "APPLINKCTL_WORKSPACE")}
	if v := vals["sandbox"]; len(v) > 0 {
		sb := &optionalString{def: ".applinkctl/sandbox"}
		if err := sb.Set(v[len(v)-1]); err == nil && sb.set {
			f.Sandbox = sb.value
		}
	}
	files := vals["file"]
	url, err := f.StateURL(files)
	if err != nil {
		return nil
	}
	return stateops.Addresses(ctx, stateops.Locator{URL: url, Files: files, Workspace: f.Workspace})
}

// flagNamed is the flag of flags named or aliased name, or nil.
func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}
