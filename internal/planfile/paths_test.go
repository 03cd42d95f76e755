package planfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

// readWithin runs ReadPlanFile in a goroutine and fails the test if it has
// not returned after a generous delay, so a read blocked on a named pipe
// shows as a failure rather than a hung test binary.
func readWithin(t *testing.T, path string) (*plan.Plan, error) {
	t.Helper()
	type result struct {
		p   *plan.Plan
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := planfile.Read(path)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("ReadPlanFile still blocked after 30s")
		return nil, nil
	}
}

func TestReadPlanFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "plan.json")
	testkit.Mkfifo(t, fifo)
	for path, want := range map[string]string{
		fifo:       "is a named pipe, not a regular file",
		dir:        "is a directory, not a regular file",
		os.DevNull: "is a character device, not a regular file",
	} {
		_, err := readWithin(t, path)
		if err == nil || err.Error() != "plan file "+path+": "+want {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}

func TestReadPlanFileQuotesNothingOfANonPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte("root:$6$SecretSalt$SecretHash:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := planfile.Read(path)
	if !errors.Is(err, planfile.ErrCorrupt) {
		t.Errorf("err = %v, want ErrPlanFileCorrupt", err)
	}
	// The decoder would say "invalid character 'r'": not even a byte.
	if want := "plan file " + path + ": corrupt plan file: not a JSON plan: syntax error at byte 1"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// planNaming writes a valid plan whose manifest_files is files.
func planNaming(t *testing.T, files ...string) string {
	t.Helper()
	valid := string(render(t, testkit.NoopPlan(), "json", view.Options{}))
	list := `"manifest_files": [` + "\n"
	for i, f := range files {
		if i > 0 {
			list += ",\n"
		}
		list += `    "` + f + `"`
	}
	content := strings.Replace(valid, `"manifest_files": [`+"\n"+`    "applink.yaml"`, list, 1)
	if content == valid && !(len(files) == 1 && files[0] == "applink.yaml") {
		t.Fatal("test did not alter the plan")
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// inTempWorkdir makes a temp dir the working directory with applink.yaml
// in it, a file outside it, and links to both.
func inTempWorkdir(t *testing.T) (wd, outside string) {
	t.Helper()
	top := t.TempDir()
	wd = filepath.Join(top, "wd")
	outside = filepath.Join(top, "outside.yaml")
	for p, body := range map[string]string{
		filepath.Join(wd, "applink.yaml"):          "version: 1\napps: {}\n",
		filepath.Join(wd, "infra", "applink.yaml"): "version: 1\napps: {}\n",
		outside: "root:x:0:0:root:/root:/bin/bash\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"out.yaml": "../outside.yaml", "in.yaml": "applink.yaml", "up": ".."} {
		if err := os.Symlink(target, filepath.Join(wd, link)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(wd)
	return wd, outside
}

func TestReadPlanFileRefusesManifestsOutsideTheWorkingDirectory(t *testing.T) {
	_, outside := inTempWorkdir(t)
	target, _ := filepath.EvalSymlinks(outside)
	for _, tc := range []struct {
		file, want string
		corrupt    bool
	}{
		{"/etc/shadow", `manifest_files[0] "/etc/shadow" is not a relative path inside the working directory`, true},
		{"../outside.yaml", `manifest_files[0] "../outside.yaml" is not a relative path inside the working directory`, true},
		{"infra/../../outside.yaml", `manifest_files[0] "infra/../../outside.yaml" is not a relative path inside the working directory`, true},
		{"", `manifest_files[0] "" is not a relative path inside the working directory`, true},
		{"out.yaml", "manifest_files[0] out.yaml is a symbolic link to " + target + ", outside the working directory: a saved plan may name only manifests inside the working directory", false},
		{"up/outside.yaml", "manifest_files[0] up/outside.yaml is a symbolic link to " + target + ", outside the working directory", false},
	} {
		_, err := planfile.Read(planNaming(t, tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, planfile.ErrCorrupt) != tc.corrupt {
			t.Errorf("%q: %v\nwant %q (corrupt %v)", tc.file, err, tc.want, tc.corrupt)
		}
		if err != nil && strings.Contains(err.Error(), "root:") {
			t.Errorf("%q: error quotes the file: %v", tc.file, err)
		}
	}
	for _, ok := range [][]string{{"applink.yaml"}, {"in.yaml", "infra/applink.yaml"}, {"missing.yaml"}} {
		p, err := planfile.Read(planNaming(t, ok...))
		if err != nil || len(p.ManifestFiles) != len(ok) {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

func TestWritePlanFileStoresManifestsRelative(t *testing.T) {
	wd, outside := inTempWorkdir(t)
	path := filepath.Join(t.TempDir(), "plan.json")

	p := testkit.NoopPlan()
	p.ManifestFiles = []string{filepath.Join(wd, "applink.yaml"), filepath.Join(wd, "infra", "applink.yaml")}
	if err := planfile.Write(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := planfile.Read(path)
	if err != nil || strings.Join(got.ManifestFiles, " ") != "applink.yaml infra/applink.yaml" {
		t.Fatalf("manifest_files = %v, %v: want relative paths", got, err)
	}

	target, _ := filepath.EvalSymlinks(outside)
	for file, want := range map[string]string{
		outside:                         "manifest " + outside + " is not a relative path inside the working directory: run plan from a directory that holds every manifest",
		filepath.Join(wd, "out.yaml"):   "manifest out.yaml is a symbolic link to " + target + ", outside the working directory: run plan from",
		filepath.Join(wd, "up", "x.ya"): "manifest up/x.ya is a symbolic link to ",
	} {
		p.ManifestFiles = []string{file}
		err := planfile.Write(path, p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
}
