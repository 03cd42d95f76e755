package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// Figure 7: big valid input. A manifest of 10 MB (just under the 10 MiB cap
// on a file) and a publication whose spec is 10 MB, given to the applinkctl
// binary as a user would (validate, and plan against the built-in
// sandbox), each run in its own process so that its peak RSS (getrusage's
// ru_maxrss) is its own. The inputs are generated here, the same bytes every
// run, and never committed.

// bigInputSize is the size of the generated manifest and specs: 10 MB,
// under the 10 MiB a file may have.
const bigInputSize = 10_000_000

// Targets of figure 7.
const (
	bigManifestSeconds = 5.0
	bigManifestMB      = 400.0
	bigSpecMB          = 300.0
)

// bigRun is one measured run of the binary.
type bigRun struct {
	Seconds    float64 `json:"seconds"`     // wall time
	CPUSeconds float64 `json:"cpu_seconds"` // user + system, all threads
	PeakMB     float64 `json:"peak_mb"`
}

// The peak RSS of a process started by this one cannot be read from its
// rusage: Go starts a child with vfork, so until it execs the child runs in
// this process's memory, and Linux counts that memory's high-water mark as
// the child's (the bench process, having generated the inputs, is itself a
// few hundred MB). So each run goes through a fresh, small copy of the bench
// (-rss-run), whose own child's rusage is the binary's alone, and which
// prints the run as JSON.

// runBinary runs bin with args in dir, through the -rss-run intermediary,
// and returns its wall time and peak RSS. The run must succeed: a figure of
// a refused input would measure nothing.
func runBinary(ctx context.Context, bin, dir string, args ...string) (bigRun, error) {
	self, err := os.Executable()
	if err != nil {
		return bigRun{}, err
	}
	cmd := exec.CommandContext(ctx, self, append([]string{"-rss-run", bin}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return bigRun{}, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, tail(errb.String(), 2000))
	}
	var r bigRun
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return bigRun{}, fmt.Errorf("%s: intermediary's answer %q: %w", filepath.Base(bin), out.String(), err)
	}
	return r, nil
}

// rssRun is the -rss-run intermediary: it runs argv in the current
// directory, and prints its wall time and peak RSS, or fails with its
// output.
func rssRun(ctx context.Context, argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("rss-run: no command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%w: %s", err, tail(out.String(), 2000))
	}
	rss, cpu, err := childUsage(cmd.ProcessState)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(bigRun{Seconds: wall.Seconds(), CPUSeconds: cpu.Seconds(), PeakMB: rss / (1 << 20)})
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

// runsOf runs f n times.
func runsOf(n int, f func() (bigRun, error)) ([]bigRun, error) {
	out := make([]bigRun, 0, n)
	for range n {
		r, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// buildCLI builds cmd/applinkctl into dir from the module the bench runs in.
func buildCLI(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "applinkctl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/applinkctl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/applinkctl: %w: %s", err, out)
	}
	return bin, nil
}

// writeBigManifest writes the scale figure's fleet (50 resources an app,
// five publications an app sharing one spec) with as many apps as make it
// at least size bytes, and returns its path and resource count.
func writeBigManifest(dir string, key []byte, size int) (string, int, error) {
	probe, err := writeFleet(filepath.Join(dir, "probe"), scaleShape(50*10), key)
	if err != nil {
		return "", 0, err
	}
	st, err := os.Stat(probe)
	if err != nil {
		return "", 0, err
	}
	// Every app takes the same bytes (app names have a fixed width)
	// after the header.
	const header = len("version: 1\napps:\n")
	perApp := (int(st.Size()) - header) / 10
	s := scaleShape(50 * ((size - header + perApp - 1) / perApp))
	path, err := writeFleet(filepath.Join(dir, "manifest"), s, key)
	if err != nil {
		return "", 0, err
	}
	if st, err = os.Stat(path); err != nil {
		return "", 0, err
	}
	if st.Size() < int64(size) || st.Size() >= 10<<20 {
		return "", 0, fmt.Errorf("big manifest: %d bytes, want %d up to the 10 MiB cap", st.Size(), size)
	}
	return path, s.resources(), nil
}

// bigSpecYAML is an OpenAPI 3 spec of at least size bytes, in YAML: for
// each of n resources, a collection path (list and create) and an item path
// (read, update, delete) whose operations declare the x-sfdc
// authorization, take parameters and bodies and answer with the
// resource's component schema, which has six typed and described
// properties. It is the shape of a generated API, repeated.
func bigSpecYAML(size int) []byte { return specYAMLOf(func(i, n int) bool { return n < size }) }

// specYAMLOf generates resources while more(i, bytes so far) holds.
func specYAMLOf(more func(i, n int) bool) []byte {
	var paths, schemas bytes.Buffer
	for i := 0; more(i, paths.Len()+schemas.Len()); i++ {
		fmt.Fprintf(&paths, `  /resources%[1]d:
    get:
      operationId: listResource%[1]d
      summary: List resource %[1]d records
      description: Returns the records of resource %[1]d, newest first, a page at a time.
      x-sfdc:
        heroku:
          authorization:
            permissionSet: Bench_Perm
      parameters:
        - name: limit
          in: query
          description: Records per page.
          schema: {type: integer, minimum: 1, maximum: 200, default: 50}
        - name: cursor
          in: query
          schema: {type: string}
      responses:
        "200":
          description: A page of records.
          content:
            application/json:
              schema:
                type: object
                properties:
                  records:
                    type: array
                    items: {$ref: '#/components/schemas/Resource%[1]d'}
                  next: {type: string, nullable: true}
    post:
      operationId: createResource%[1]d
      summary: Create a resource %[1]d record
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Resource%[1]d'}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Resource%[1]d'}
        "400": {description: The record is not valid.}
  /resources%[1]d/{id}:
    parameters:
      - name: id
        in: path
        required: true
        description: Record id.
        schema: {type: string, pattern: '^[a-zA-Z0-9]{18}$'}
    get:
      operationId: getResource%[1]d
      responses:
        "200":
          description: The record.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Resource%[1]d'}
        "404": {description: No such record.}
    patch:
      operationId: updateResource%[1]d
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Resource%[1]d'}
      responses:
        "200": {description: Updated.}
    delete:
      operationId: deleteResource%[1]d
      responses:
        "204": {description: Deleted.}
`, i)
		fmt.Fprintf(&schemas, `    Resource%[1]d:
      type: object
      description: A record of resource %[1]d.
      required: [id, name]
      properties:
        id: {type: string, description: Record id., readOnly: true}
        name: {type: string, maxLength: 80, description: Display name.}
        amount: {type: number, format: double, minimum: 0}
        quantity: {type: integer, format: int32}
        active: {type: boolean, default: true}
        createdAt: {type: string, format: date-time, readOnly: true}
`, i)
	}
	var b bytes.Buffer
	b.WriteString("openapi: 3.0.3\ninfo:\n  title: Bench big API\n  version: \"1.0.0\"\npaths:\n")
	b.Write(paths.Bytes())
	b.WriteString("components:\n  schemas:\n")
	b.Write(schemas.Bytes())
	return b.Bytes()
}

// bigSpecJSON is bigSpecYAML's document as indented JSON (which spells
// it longer) of at least size bytes and under the 10 MiB cap: the
// resource count is estimated from a small document, then stepped up.
func bigSpecJSON(size int) ([]byte, error) {
	toJSON := func(resources int) ([]byte, error) {
		var doc any
		if err := yaml.Unmarshal(specYAMLOf(func(i, _ int) bool { return i < resources }), &doc); err != nil {
			return nil, err
		}
		return json.MarshalIndent(doc, "", "  ")
	}
	probe, err := toJSON(100)
	if err != nil {
		return nil, err
	}
	n := size / (len(probe) / 100)
	for {
		j, err := toJSON(n)
		if err != nil {
			return nil, err
		}
		if len(j) >= size {
			if len(j) >= 10<<20 {
				return nil, fmt.Errorf("big JSON spec: %d bytes, over the 10 MiB cap", len(j))
			}
			return j, nil
		}
		n += (size-len(j))/(len(probe)/100) + 1
	}
}

// writeSpecManifest writes a manifest of one publication of spec (named
// name under api/) and returns its directory.
func writeSpecManifest(dir, name string, spec, key []byte) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o700); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "api", name), spec, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "server.key"), key, 0o600); err != nil {
		return "", err
	}
	m := fmt.Sprintf(`version: 1
apps:
  %s:
    connections:
      crm_00:
        type: salesforce
        jwt:
          client_id: 3MVG9benchConsumerKey
          username: api.user@bench.example
          private_key_file: keys/server.key
        publications:
          Big_Api:
            spec: api/%s
            permission_set: Bench_Perm
`, appName(0), name)
	return dir, os.WriteFile(filepath.Join(dir, "applink.yaml"), []byte(m), 0o600)
}

// figure7 measures validate of a 10 MB manifest, and validate and plan of a
// publication of a 10 MB spec (YAML, then JSON), runs times each. bin is
// the binary to measure, or "" to build this module's.
func figure7(ctx context.Context, tmp string, key []byte, bin string, runs int, log func(string, ...any)) ([]Figure, error) {
	dir := filepath.Join(tmp, "big-input")
	if bin == "" {
		var err error
		if bin, err = buildCLI(ctx, dir); err != nil {
			return nil, err
		}
	}
	mpath, resources, err := writeBigManifest(dir, key, bigInputSize)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(mpath)
	if err != nil {
		return nil, err
	}
	// measured is the figures of one command's runs: time and CPU (timing
	// figures) and peak RSS, against their targets when given.
	measured := func(pre string, rs []bigRun, seconds, peakMB float64) []Figure {
		var all [][]Figure
		for _, r := range rs {
			t := info(pre+".time", r.Seconds, "s")
			if seconds > 0 {
				t = goal(t.Name, r.Seconds, "s", fmt.Sprintf("≤ %g", seconds), atMost(seconds))
			}
			m := info(pre+".peak_rss", r.PeakMB, "MB")
			if peakMB > 0 {
				m = goal(m.Name, r.PeakMB, "MB", fmt.Sprintf("≤ %g", peakMB), atMost(peakMB))
			}
			all = append(all, []Figure{timed(t), timed(info(pre+".cpu", r.CPUSeconds, "s")), m})
		}
		return aggregate(all)
	}
	m, err := runsOf(runs, func() (bigRun, error) { return runBinary(ctx, bin, filepath.Dir(mpath), "validate", "-f", mpath) })
	if err != nil {
		return nil, err
	}
	figs := []Figure{
		info("big_input.manifest.size", round(mb(st.Size())), "MB"),
		info("big_input.manifest.resources", float64(resources), "resources"),
	}
	figs = append(figs, measured("big_input.manifest.validate", m, bigManifestSeconds, bigManifestMB)...)
	log("big input: manifest of %.1f MB (%d resources): validate %v", mb(st.Size()), resources, m)

	jsonSpec, err := bigSpecJSON(bigInputSize)
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		format string
		name   string
		data   []byte
	}{{"yaml", "openapi.yaml", bigSpecYAML(bigInputSize)}, {"json", "openapi.json", jsonSpec}} {
		d, err := writeSpecManifest(filepath.Join(dir, "spec-"+s.format), s.name, s.data, key)
		if err != nil {
			return nil, err
		}
		v, err := runsOf(runs, func() (bigRun, error) { return runBinary(ctx, bin, d, "validate", "-f", "applink.yaml") })
		if err != nil {
			return nil, err
		}
		p, err := runsOf(runs, func() (bigRun, error) {
			return runBinary(ctx, bin, d, "plan", "-f", "applink.yaml", "--sandbox")
		})
		if err != nil {
			return nil, err
		}
		log("big input: %s spec of %.1f MB: validate %v; plan %v", s.format, mb(int64(len(s.data))), v, p)
		ops, err := manifest.Operations(s.data)
		if err != nil {
			return nil, err
		}
		pre := "big_input.spec_" + s.format
		figs = append(figs,
			info(pre+".size", round(mb(int64(len(s.data)))), "MB"),
			info(pre+".operations", float64(len(ops)), "operations"),
		)
		figs = append(figs, measured(pre+".validate", v, 0, bigSpecMB)...)
		figs = append(figs, measured(pre+".plan", p, 0, bigSpecMB)...)
	}
	return figs, nil
}

// mb is n bytes in MB of 10^6 bytes, as file sizes are quoted.
func mb(n int64) float64 { return float64(n) / 1e6 }
