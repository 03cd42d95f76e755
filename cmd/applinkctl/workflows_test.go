package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"
)

// The GitHub Action and the example workflows live at the repository root.
var (
	actionPath   = filepath.Join("..", "..", "action.yml")
	workflowsDir = filepath.Join("..", "..", "examples", "github-actions")
)

// actionRef is how the examples refer to the action; a step using it runs
// "applinkctl " + its command input.
const actionRef = "applinkctl/applinkctl@"

type workflowStep struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	Shell            string            `yaml:"shell"`
	WorkingDirectory string            `yaml:"working-directory"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
	If               string            `yaml:"if"`
}

type workflow struct {
	Name        string            `yaml:"name"`
	On          yaml.Node         `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency yaml.Node         `yaml:"concurrency"`
	Jobs        map[string]struct {
		RunsOn      string            `yaml:"runs-on"`
		Strategy    yaml.Node         `yaml:"strategy"`
		Environment string            `yaml:"environment"`
		Env         map[string]string `yaml:"env"`
		Steps       []workflowStep    `yaml:"steps"`
	} `yaml:"jobs"`
}

type action struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Author      string            `yaml:"author"`
	Branding    map[string]string `yaml:"branding"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string         `yaml:"using"`
		Steps []workflowStep `yaml:"steps"`
	} `yaml:"runs"`
}

// decodeStrict decodes YAML refusing unknown fields, so a misspelt key
// (runs_on, working_directory) fails here rather than on GitHub.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadWorkflows(t *testing.T) map[string]workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]workflow{}
	for _, f := range files {
		var w workflow
		decodeStrict(t, f, &w)
		out[filepath.Base(f)] = w
	}
	return out
}

func TestWorkflowsParseAndAreComplete(t *testing.T) {
	wfs := loadWorkflows(t)
	for _, name := range []string{"applinkctl-plan.yml", "applinkctl-apply.yml", "applinkctl-drift.yml"} {
		w, ok := wfs[name]
		if !ok {
			t.Errorf("examples/github-actions/%s is missing", name)
			continue
		}
		if w.Name == "" || w.On.Kind == 0 || len(w.Jobs) == 0 {
			t.Errorf("%s: want name, on and jobs", name)
		}
		for jn, j := range w.Jobs {
			if j.RunsOn == "" || len(j.Steps) == 0 {
				t.Errorf("%s: job %s: want runs-on and steps", name, jn)
			}
			// Every job talks to Heroku and reads the key and the state
			// from secrets, never from a committed file.
			for _, v := range []string{"HEROKU_API_KEY", "SF_JWT_KEY", "DATABASE_URL"} {
				if !strings.HasPrefix(j.Env[v], "${{ secrets.") {
					t.Errorf("%s: job %s: env %s should come from a secret, got %q", name, jn, v, j.Env[v])
				}
			}
			if j.Env["APPLINKCTL_STATE"] != "postgres" {
				t.Errorf("%s: job %s: APPLINKCTL_STATE should be postgres (state at $DATABASE_URL), got %q", name, jn, j.Env["APPLINKCTL_STATE"])
			}
			for i, s := range j.Steps {
				if (s.Uses == "") == (s.Run == "") {
					t.Errorf("%s: job %s step %d: want exactly one of uses and run", name, jn, i)
				}
				if strings.Contains(s.Run, "${{") {
					t.Errorf("%s: job %s step %d: ${{ }} inside run is a script-injection risk; pass it through env", name, jn, i)
				}
				if strings.HasPrefix(s.Uses, actionRef) && s.With["command"] == "" {
					t.Errorf("%s: job %s step %d: the action needs a command", name, jn, i)
				}
			}
		}
	}
	on := func(name string) string {
		n := wfs[name].On
		b, _ := yaml.Marshal(&n)
		return string(b)
	}
	if !strings.Contains(on("applinkctl-plan.yml"), "pull_request") {
		t.Error("the plan workflow runs on pull_request")
	}
	if !strings.Contains(on("applinkctl-apply.yml"), "push") {
		t.Error("the apply workflow runs on push (the merge)")
	}
	if !strings.Contains(on("applinkctl-drift.yml"), "schedule") {
		t.Error("the drift workflow runs on a schedule")
	}
}

func TestActionParsesWithItsContract(t *testing.T) {
	var a action
	decodeStrict(t, actionPath, &a)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"command", "version", "working-directory"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %s missing", in)
		}
	}
	if !a.Inputs["command"].Required || a.Inputs["working-directory"].Default != "." {
		t.Error("command is required and working-directory defaults to .")
	}
	for _, out := range []string{"has_changes", "plan_file", "exit_code"} {
		if !strings.Contains(a.Outputs[out].Value, "steps.run.outputs."+out) {
			t.Errorf("output %s should come from the run step, got %q", out, a.Outputs[out].Value)
		}
	}
	var sawSetupGo, sawInstall, sawBuild bool
	for _, s := range a.Runs.Steps {
		if strings.HasPrefix(s.Uses, "actions/setup-go@") {
			// Go is set up only when no release binary was installed.
			sawSetupGo = s.If == "steps.install.outputs.installed != 'true'"
		}
		sawInstall = sawInstall || (s.ID == "install" && strings.Contains(s.Run, `sh "$GITHUB_ACTION_PATH/scripts/install.sh" "$version"`))
		sawBuild = sawBuild || (s.ID == "build" && s.If == "steps.install.outputs.installed != 'true'" && strings.Contains(s.Run, "APPLINKCTL_INSTALL=go"))
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %s: ${{ }} inside run is a script-injection risk; pass it through env", s.ID)
		}
	}
	if !sawSetupGo || !sawInstall || !sawBuild {
		t.Errorf("the action installs the release with scripts/install.sh (%v), and only without one sets Go up (%v) and builds (%v)", sawInstall, sawSetupGo, sawBuild)
	}
	b, err := os.ReadFile(installScript)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `go install "github.com/applinkctl/applinkctl/cmd/applinkctl@${version}"`) {
		t.Error("scripts/install.sh go-installs applinkctl at the version when there is no release")
	}
}

// matrixExpr is a GitHub expression naming a matrix value.
var matrixExpr = regexp.MustCompile(`\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}`)

// expandMatrix replaces each ${{ matrix.NAME }} of s with the first value
// strategy (a job's strategy) lists for NAME, as GitHub expands it before
// the step runs for that matrix entry.
func expandMatrix(t *testing.T, strategy yaml.Node, s string) string {
	t.Helper()
	var st struct {
		Matrix map[string][]string `yaml:"matrix"`
	}
	if strategy.Kind != 0 {
		if err := strategy.Decode(&st); err != nil {
			t.Fatalf("strategy: %v", err)
		}
	}
	return matrixExpr.ReplaceAllStringFunc(s, func(e string) string {
		vs := st.Matrix[matrixExpr.FindStringSubmatch(e)[1]]
		if len(vs) == 0 {
			t.Fatalf("%s names no value of the job's matrix", e)
		}
		return vs[0]
	})
}

// workflowCommands lists every applinkctl command line of the example
// workflows: the command input of each step using the action, and each
// line of a run script that starts with applinkctl; a matrix value is the
// first of its job's matrix.
func workflowCommands(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, w := range loadWorkflows(t) {
		for _, j := range w.Jobs {
			for _, s := range j.Steps {
				if strings.HasPrefix(s.Uses, actionRef) {
					out = append(out, expandMatrix(t, j.Strategy, "applinkctl "+strings.TrimSpace(s.With["command"])))
				}
				sc := bufio.NewScanner(strings.NewReader(s.Run))
				for sc.Scan() {
					if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "applinkctl ") {
						out = append(out, expandMatrix(t, j.Strategy, l))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var sandboxFlag = regexp.MustCompile(` --sandbox(=\S+)?`)

// TestWorkflowCommandsRunInTheSandbox checks that workflows_*.txtar, which
// TestScripts runs against the sandbox, executes every command line of the
// example workflows verbatim (the --sandbox flag aside).
func TestWorkflowCommandsRunInTheSandbox(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("testdata", "script", "workflows_*.txtar"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no workflows_*.txtar script (%v)", err)
	}
	ran := map[string]bool{}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(txtar.Parse(b).Comment), "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "!"))
			if rest, ok := strings.CutPrefix(l, "exec applinkctl "); ok {
				ran[sandboxFlag.ReplaceAllString("applinkctl "+rest, "")] = true
			}
		}
	}
	cmds := workflowCommands(t)
	if len(cmds) < 4 {
		t.Fatalf("found only %d applinkctl commands in the workflows: %q", len(cmds), cmds)
	}
	for _, c := range cmds {
		if !ran[c] {
			t.Errorf("workflow command %q is not run by testdata/script/workflows_*.txtar", c)
		}
	}
}

// actionRunScript is the bash script of the action's run step.
func actionRunScript(t *testing.T) string {
	t.Helper()
	return actionStepScript(t, "run")
}

// actionStepScript is the bash script of the action's step with that id.
func actionStepScript(t *testing.T, id string) string {
	t.Helper()
	var a action
	decodeStrict(t, actionPath, &a)
	for _, s := range a.Runs.Steps {
		if s.ID == id {
			return s.Run
		}
	}
	t.Fatalf("action.yml has no step with id %s", id)
	return ""
}

// TestActionRunStep runs the action's run step with bash and a fake
// applinkctl that exits with a chosen code, and checks the outputs it
// writes and whether the step fails.
func TestActionRunStep(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("xargs"); err != nil {
		t.Skip("no xargs")
	}
	script := actionRunScript(t)
	cases := []struct {
		name, command, workdir, output string
		fakeCode                       int
		fakeSetsOutput                 bool
		wantStepCode                   int
		want                           []string
	}{
		{name: "no changes", command: "plan -f applink.yaml --out plan.json --detailed-exitcode",
			fakeCode: 0, want: []string{"exit_code=0", "has_changes=false", "plan_file=plan.json"}},
		{name: "changes", command: "plan -f applink.yaml --out=plan.json --detailed-exitcode", workdir: "infra",
			fakeCode: 2, want: []string{"exit_code=2", "has_changes=true", "plan_file=infra/plan.json"}},
		{name: "drift without plan file", command: "drift -f applink.yaml", fakeCode: 2,
			want: []string{"exit_code=2", "has_changes=true", "plan_file=\n"}},
		{name: "error fails the step", command: "validate -f applink.yaml", fakeCode: 1, wantStepCode: 1,
			want: []string{"exit_code=1", "has_changes=false"}},
		{name: "pending fails the step", command: "apply plan.json", fakeCode: 3, wantStepCode: 3,
			want: []string{"exit_code=3", "::error::applinkctl: apply finished but some resources are still pending"}},
		{name: "applinkctl's has_changes wins", command: "plan -f a.yaml --out p.json", workdir: "infra", fakeCode: 0, fakeSetsOutput: true,
			want: []string{"has_changes<<EOF\ntrue\nEOF", "plan_file<<EOF\np.json\nEOF\nexit_code=0\nplan_file=infra/p.json\n"}},
		{name: "quoted words stay whole", command: `applinkctl plan -f applink.yaml --target 'acme-api/connection/a b/*'`, fakeCode: 0,
			want: []string{"ARGS[plan|-f|applink.yaml|--target|acme-api/connection/a b/*]"}},
		{name: "stdout to a file", command: "plan -f applink.yaml --format markdown", output: "plan.md", fakeCode: 2,
			want: []string{"has_changes=true", "FILE[ARGS[plan|-f|applink.yaml|--format|markdown]]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			work := filepath.Join(dir, "work", tc.workdir)
			for _, d := range []string{bin, work} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			fake := "#!/bin/sh\nIFS='|'; echo \"ARGS[$*]\"\n"
			if tc.fakeSetsOutput {
				fake += "printf 'has_changes<<EOF\\ntrue\\nEOF\\nplan_file<<EOF\\np.json\\nEOF\\n' >> \"$GITHUB_OUTPUT\"\n"
			}
			fake += "exit " + string(rune('0'+tc.fakeCode)) + "\n"
			if err := os.WriteFile(filepath.Join(bin, "applinkctl"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			ghOut := filepath.Join(dir, "github_output")
			wd := tc.workdir
			if wd == "" {
				wd = "."
			}
			// As GitHub runs a bash step: bash --noprofile --norc -eo pipefail.
			cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = work
			cmd.Env = append(os.Environ(),
				"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_OUTPUT="+ghOut,
				"INPUT_COMMAND="+tc.command,
				"INPUT_OUTPUT="+tc.output,
				"INPUT_WORKING_DIRECTORY="+wd,
			)
			log, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantStepCode {
				t.Errorf("step exit code %d, want %d; log:\n%s", code, tc.wantStepCode, log)
			}
			outputs, _ := os.ReadFile(ghOut)
			all := string(outputs) + string(log)
			if tc.output != "" {
				f, _ := os.ReadFile(filepath.Join(work, tc.output))
				all += "FILE[" + strings.TrimSpace(string(f)) + "]"
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("want %q in outputs and log:\n%s", w, all)
				}
			}
			if tc.fakeSetsOutput && strings.Contains(string(outputs), "has_changes=") {
				t.Errorf("the step repeated the has_changes applinkctl had set:\n%s", outputs)
			}
		})
	}
}

// driftIssueHarness runs the drift workflow's github-script with node, as
// actions/github-script does (an async function given github and
// context), against a fake issues API kept in the JSON file $ISSUES.
const driftIssueHarness = `
const fs = require('fs');
const file = process.env.ISSUES;
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { next: 1, issues: [] };
const api = {
  listForRepo: async ({ state, labels }) => db.issues.filter(i => i.state === state && i.labels.includes(labels)),
  create: async ({ title, body, labels }) => { db.issues.push({ number: db.next++, state: 'open', title, body, labels, comments: [] }); },
  update: async ({ issue_number, ...rest }) => { Object.assign(db.issues.find(i => i.number === issue_number), rest); },
  createComment: async ({ issue_number, body }) => { db.issues.find(i => i.number === issue_number).comments.push(body); },
};
const github = { paginate: async (fn, args) => fn(args), rest: { issues: api } };
const context = { repo: { owner: 'acme', repo: 'infra' } };
const script = fs.readFileSync(process.env.SCRIPT, 'utf8');
new (Object.getPrototypeOf(async function () {}).constructor)('github', 'context', 'require', script)(github, context, require)
  .then(() => fs.writeFileSync(file, JSON.stringify(db)))
  .catch(e => { console.error(e); process.exit(1); });
`

// TestDriftWorkflowIssuePerWorkspace runs the drift workflow's issue
// script for two workspaces of one repository: each opens, updates and
// closes its own issue, never the other's. The drift step passes the
// matrix's workspace as --workspace, so the report's repair commands
// repeat it; the script step gets the same workspace.
func TestDriftWorkflowIssuePerWorkspace(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	w := loadWorkflows(t)["applinkctl-drift.yml"]
	var script string
	for _, j := range w.Jobs {
		if _, ok := j.Env["APPLINKCTL_WORKSPACE"]; ok {
			t.Error("the drift job sets APPLINKCTL_WORKSPACE: repair commands would leave the workspace out")
		}
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, actionRef) && !strings.Contains(s.With["command"], "--workspace ${{ matrix.workspace }}") {
				t.Errorf("the drift step takes its workspace from the matrix, got %q", s.With["command"])
			}
			if strings.HasPrefix(s.Uses, "actions/github-script@") {
				script = s.With["script"]
				if !strings.Contains(s.Env["WORKSPACE"], "matrix.workspace") {
					t.Errorf("the issue step takes its workspace from the matrix, got %q", s.Env["WORKSPACE"])
				}
			}
		}
	}
	if script == "" {
		t.Fatal("the drift workflow has no github-script step")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"harness.js": driftIssueHarness, "script.js": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	issuesFile := filepath.Join(dir, "issues.json")
	night := func(workspace string, drifted bool, report string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "drift.md"), []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, "harness.js")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ISSUES="+issuesFile, "SCRIPT="+filepath.Join(dir, "script.js"),
			"WORKSPACE="+workspace, "DRIFTED="+map[bool]string{true: "true", false: "false"}[drifted],
			"RUN_URL=https://github.com/acme/infra/actions/runs/1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", workspace, err, out)
		}
	}
	type issue struct {
		Number   int      `json:"number"`
		State    string   `json:"state"`
		Title    string   `json:"title"`
		Body     string   `json:"body"`
		Labels   []string `json:"labels"`
		Comments []string `json:"comments"`
	}
	issues := func() []issue {
		t.Helper()
		b, err := os.ReadFile(issuesFile)
		if err != nil {
			t.Fatal(err)
		}
		var db struct{ Issues []issue }
		if err := json.Unmarshal(b, &db); err != nil {
			t.Fatal(err)
		}
		return db.Issues
	}

	night("production", true, "prod report 1")
	night("staging", true, "staging report 1")
	got := issues()
	if len(got) != 2 {
		t.Fatalf("want one issue per workspace, got %+v", got)
	}
	for i, ws := range []string{"production", "staging"} {
		if !strings.Contains(got[i].Title, ws) || !slices.Contains(got[i].Labels, "applinkctl-drift:"+ws) ||
			!slices.Contains(got[i].Labels, "applinkctl-drift") || !strings.Contains(got[i].Body, "report 1") || !strings.Contains(got[i].Body, "`"+ws+"`") {
			t.Errorf("issue of %s: %+v", ws, got[i])
		}
	}
	night("production", true, "prod report 2")
	night("staging", false, "No drift.")
	got = issues()
	if len(got) != 2 || got[0].State != "open" || !strings.Contains(got[0].Body, "prod report 2") ||
		got[1].State != "closed" || len(got[1].Comments) != 1 || strings.Contains(got[1].Body, "prod") {
		t.Errorf("after a second night: %+v", got)
	}
}
