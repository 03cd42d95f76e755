package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// installScript is what action.yml runs to install applinkctl.
var installScript = filepath.Join("..", "..", "scripts", "install.sh")

// fakeRelease is a release host: GET /TAG/FILE answers what files holds
// for TAG, else 404; it counts the requests.
type fakeRelease struct {
	mu    sync.Mutex
	files map[string][]byte // "TAG/FILE" → body
	asked []string
}

func (f *fakeRelease) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/")
	f.asked = append(f.asked, p)
	b, ok := f.files[p]
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case b == nil: // a host failing
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write(b)
}

func (f *fakeRelease) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// releaseArchive builds an archive as GoReleaser lays it out: the binary
// at the top, the man page and completions beside it.
func releaseArchive(t *testing.T, zipped bool, exe string, binary []byte) []byte {
	t.Helper()
	files := []struct {
		name string
		body []byte
		mode int64
	}{
		{exe, binary, 0o755},
		{"README.md", []byte("# applinkctl\n"), 0o644},
		{"man/applinkctl.1", []byte(".TH APPLINKCTL 1\n"), 0o644},
		{"completions/applinkctl.bash", []byte("complete -F _applinkctl applinkctl\n"), 0o644},
	}
	var buf bytes.Buffer
	if zipped {
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			w, err := zw.Create(f.name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(f.body)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(f.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type installRun struct {
	code           int
	log            string
	bin            string // the install directory
	goCalls        string // what the stub go recorded, one call a line
	outputs, paths string // $GITHUB_OUTPUT and $GITHUB_PATH
}

// runInstall runs scripts/install.sh VERSION with sh, against base, with a
// stub go on PATH that records its arguments and GOBIN instead of
// compiling, and optionally a stub uname reporting unameS/unameM.
func runInstall(t *testing.T, base, version string, env []string, unameS, unameM string) installRun {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tool := range []string{"curl", "tar", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := t.TempDir()
	stubs := filepath.Join(dir, "stubs")
	if err := os.MkdirAll(stubs, 0o755); err != nil {
		t.Fatal(err)
	}
	goLog := filepath.Join(dir, "go.log")
	stub := fmt.Sprintf("#!/bin/sh\necho \"GOBIN=$GOBIN $*\" >> %q\n", goLog)
	if err := os.WriteFile(filepath.Join(stubs, "go"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	if unameS != "" {
		u := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in -s) echo %s ;; -m) echo %s ;; *) echo %s ;; esac\n", unameS, unameM, unameS)
		if err := os.WriteFile(filepath.Join(stubs, "uname"), []byte(u), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := installRun{bin: filepath.Join(dir, "bin")}
	ghOut, ghPath := filepath.Join(dir, "github_output"), filepath.Join(dir, "github_path")
	cmd := exec.Command(sh, installScript, version)
	cmd.Env = append(os.Environ(),
		"PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"),
		"APPLINKCTL_BIN_DIR="+r.bin,
		"APPLINKCTL_RELEASE_URL="+base,
		"GITHUB_OUTPUT="+ghOut,
		"GITHUB_PATH="+ghPath,
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	r.log = string(out)
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(goLog)
	r.goCalls = string(b)
	b, _ = os.ReadFile(ghOut)
	r.outputs = string(b)
	b, _ = os.ReadFile(ghPath)
	r.paths = string(b)
	return r
}

// TestInstallScriptRelease runs scripts/install.sh against a local file
// server standing in for the GitHub release host.
func TestInstallScriptRelease(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the install script runs under a POSIX sh")
	}
	arch := runtime.GOARCH
	if arch != "amd64" && arch != "arm64" {
		t.Skipf("no release binaries for %s", arch)
	}
	rel, binary, nameOf := newFakeRelease(t)
	name := nameOf("1.2.3")
	good := rel.files["v1.2.3/"+name]
	srv := httptest.NewServer(rel)
	defer srv.Close()

	t.Run("good checksum installs the binary", func(t *testing.T) {
		r := runInstall(t, srv.URL, "v1.2.3", nil, "", "")
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.log)
		}
		got, err := os.ReadFile(filepath.Join(r.bin, "applinkctl"))
		if err != nil || !bytes.Equal(got, binary) {
			t.Fatalf("installed %q, %v; log:\n%s", got, err, r.log)
		}
		if fi, _ := os.Stat(filepath.Join(r.bin, "applinkctl")); fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("not executable: %v", fi.Mode())
		}
		out, err := exec.Command(filepath.Join(r.bin, "applinkctl")).Output()
		if err != nil || string(out) != "applinkctl v1.2.3\n" {
			t.Errorf("running it: %q, %v", out, err)
		}
		if r.goCalls != "" || !strings.Contains(r.outputs, "installed=true\nmethod=release\n") || strings.TrimSpace(r.paths) != r.bin {
			t.Errorf("go calls %q, outputs %q, path %q", r.goCalls, r.outputs, r.paths)
		}
		if !strings.Contains(r.log, "sha256 "+sha256Hex(good)+" verified") {
			t.Errorf("log:\n%s", r.log)
		}
		if left, _ := filepath.Glob(filepath.Join(r.bin, ".*")); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})

	t.Run("bad checksum fails and installs nothing", func(t *testing.T) {
		r := runInstall(t, srv.URL, "v1.2.4", nil, "", "")
		if r.code == 0 || !strings.Contains(r.log, "checksum mismatch for "+nameOf("1.2.4")) {
			t.Fatalf("exit %d:\n%s", r.code, r.log)
		}
		if entries, _ := os.ReadDir(r.bin); len(entries) != 0 {
			t.Errorf("installed %v despite the mismatch", entries)
		}
		if r.goCalls != "" || strings.Contains(r.outputs, "installed=true") {
			t.Errorf("a mismatch must not fall back: go calls %q, outputs %q", r.goCalls, r.outputs)
		}
	})

	t.Run("archive not in checksums fails", func(t *testing.T) {
		r := runInstall(t, srv.URL, "v1.2.5", nil, "", "")
		if r.code == 0 || !strings.Contains(r.log, "is not listed in") || r.goCalls != "" {
			t.Fatalf("exit %d, go %q:\n%s", r.code, r.goCalls, r.log)
		}
		if entries, _ := os.ReadDir(r.bin); len(entries) != 0 {
			t.Errorf("installed %v", entries)
		}
	})

	t.Run("404 falls back to go install", func(t *testing.T) {
		for _, v := range []string{"v9.9.9", "v1.3.0-rc.1"} { // no release; checksums but no archive
			r := runInstall(t, srv.URL, v, nil, "", "")
			want := "GOBIN=" + r.bin + " install github.com/applinkctl/applinkctl/cmd/applinkctl@" + v + "\n"
			if r.code != 0 || r.goCalls != want {
				t.Fatalf("%s: exit %d, go calls %q, want %q:\n%s", v, r.code, r.goCalls, want, r.log)
			}
			if !strings.Contains(r.outputs, "installed=true\nmethod=go\n") {
				t.Errorf("%s: outputs %q", v, r.outputs)
			}
		}
	})

	t.Run("a failing host is an error, not a reason to build", func(t *testing.T) {
		r := runInstall(t, srv.URL, "v1.2.6", nil, "", "")
		if r.code == 0 || !strings.Contains(r.log, "HTTP 503") || r.goCalls != "" {
			t.Fatalf("exit %d, go %q:\n%s", r.code, r.goCalls, r.log)
		}
	})

	t.Run("a branch or commit is built, never downloaded", func(t *testing.T) {
		before := len(rel.requests())
		for _, v := range []string{"main", "0123456789abcdef0123456789abcdef01234567", "latest"} {
			r := runInstall(t, srv.URL, v, nil, "", "")
			if r.code != 0 || r.goCalls != "GOBIN="+r.bin+" install github.com/applinkctl/applinkctl/cmd/applinkctl@"+v+"\n" {
				t.Fatalf("%s: exit %d, go %q:\n%s", v, r.code, r.goCalls, r.log)
			}
		}
		if asked := rel.requests()[before:]; len(asked) != 0 {
			t.Errorf("downloads for non-tags: %q", asked)
		}
	})

	t.Run("release only never builds", func(t *testing.T) {
		r := runInstall(t, srv.URL, "v9.9.9", []string{"APPLINKCTL_INSTALL=release"}, "", "")
		if r.code == 0 || r.goCalls != "" || !strings.Contains(r.log, "no release v9.9.9") {
			t.Fatalf("exit %d, go %q:\n%s", r.code, r.goCalls, r.log)
		}
	})

	t.Run("no Go: says so when Go is optional", func(t *testing.T) {
		// PATH without the stub go (nor any go): only the tools the script needs.
		tools := t.TempDir()
		for _, tool := range []string{"curl", "tar", "awk", "grep", "mkdir", "uname", "mktemp", "rm", "cat", "printf"} {
			if p, err := exec.LookPath(tool); err == nil {
				_ = os.Symlink(p, filepath.Join(tools, tool))
			}
		}
		r := runInstall(t, srv.URL, "v9.9.9", []string{"PATH=" + tools, "APPLINKCTL_GO_OPTIONAL=1"}, "", "")
		if r.code != 0 || !strings.Contains(r.outputs, "installed=false") {
			t.Fatalf("exit %d, outputs %q:\n%s", r.code, r.outputs, r.log)
		}
		r = runInstall(t, srv.URL, "v9.9.9", []string{"PATH=" + tools}, "", "")
		if r.code == 0 || !strings.Contains(r.log, "no Go to build it") {
			t.Fatalf("exit %d:\n%s", r.code, r.log)
		}
	})

	t.Run("windows gets the zip", func(t *testing.T) {
		if _, err := exec.LookPath("unzip"); err != nil {
			t.Skip("no unzip")
		}
		r := runInstall(t, srv.URL, "v1.2.3", nil, "MINGW64_NT-10.0-20348", "x86_64")
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.log)
		}
		if got, err := os.ReadFile(filepath.Join(r.bin, "applinkctl.exe")); err != nil || string(got) != "MZ fake windows binary" {
			t.Errorf("installed %q, %v", got, err)
		}
	})
}

// newFakeRelease is a release host with v1.2.3 (good), v1.2.4 (the
// checksum of another file), v1.2.5 (the archive not in checksums.txt),
// v1.2.6 (answering 503) and v1.3.0-rc.1 (checksums but no archive), for this machine's platform and
// for windows/amd64; nameOf names the archive of a version here.
func newFakeRelease(t *testing.T) (rel *fakeRelease, binary []byte, nameOf func(string) string) {
	t.Helper()
	arch := runtime.GOARCH
	binary = []byte("#!/bin/sh\necho 'applinkctl v1.2.3'\n")
	good := releaseArchive(t, false, "applinkctl", binary)
	nameOf = func(v string) string { return fmt.Sprintf("applinkctl_%s_%s_%s.tar.gz", v, runtime.GOOS, arch) }
	name := nameOf("1.2.3")
	winZip := releaseArchive(t, true, "applinkctl.exe", []byte("MZ fake windows binary"))
	winName := "applinkctl_1.2.3_windows_amd64.zip"
	sums := fmt.Sprintf("%s  %s\n%s  %s\n%s  applinkctl_1.2.3_other_os.tar.gz\n",
		sha256Hex(good), name, sha256Hex(winZip), winName, strings.Repeat("0", 64))
	rel = &fakeRelease{files: map[string][]byte{
		"v1.2.3/" + name:       good,
		"v1.2.3/" + winName:    winZip,
		"v1.2.3/checksums.txt": []byte(sums),
		// The checksum of another file: a tampered archive or a wrong list.
		"v1.2.4/" + nameOf("1.2.4"): good,
		"v1.2.4/checksums.txt":      []byte(sha256Hex([]byte("something else")) + "  " + nameOf("1.2.4") + "\n"),
		"v1.2.5/" + nameOf("1.2.5"): good,
		"v1.2.5/checksums.txt":      []byte(strings.Repeat("0", 64) + "  unrelated.tar.gz\n"),
		"v1.3.0-rc.1/checksums.txt": []byte(sums),
		"v1.2.6/checksums.txt":      nil, // 503
	}}
	return rel, binary, nameOf
}

// TestActionInstallSteps runs action.yml's install and build steps as
// GitHub runs them (bash -eo pipefail, GITHUB_ACTION_PATH at this
// repository), against a local release host given by the release-url
// input, with a stub go recording what would be compiled.
func TestActionInstallSteps(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, tool := range []string{"curl", "tar", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no release binaries for %s", runtime.GOARCH)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	rel, binary, _ := newFakeRelease(t)
	srv := httptest.NewServer(rel)
	defer srv.Close()

	type step struct {
		code              int
		log, outputs, bin string
		goCalls           string
	}
	// run runs the step id; withGo puts the stub go on PATH, else PATH has
	// only the tools the scripts use.
	run := func(t *testing.T, id string, env []string, withGo bool) step {
		t.Helper()
		dir := t.TempDir()
		tools := filepath.Join(dir, "tools")
		if err := os.MkdirAll(tools, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"sh", "bash", "curl", "tar", "awk", "grep", "mkdir", "uname", "mktemp", "rm", "cat", "cp", "mv", "chmod", "sha256sum", "gzip"} {
			if p, err := exec.LookPath(tool); err == nil {
				_ = os.Symlink(p, filepath.Join(tools, tool))
			}
		}
		goLog := filepath.Join(dir, "go.log")
		if withGo {
			stub := fmt.Sprintf("#!/bin/sh\necho \"GOBIN=$GOBIN $*\" >> %q\n", goLog)
			if err := os.WriteFile(filepath.Join(tools, "go"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		runner := filepath.Join(dir, "runner")
		ghOut := filepath.Join(dir, "github_output")
		cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", actionStepScript(t, id))
		cmd.Dir = dir
		cmd.Env = append([]string{
			"PATH=" + tools,
			"HOME=" + dir,
			"GITHUB_ACTION_PATH=" + root,
			"GITHUB_OUTPUT=" + ghOut,
			"GITHUB_PATH=" + filepath.Join(dir, "github_path"),
			"RUNNER_TEMP=" + runner,
			"INPUT_RELEASE_URL=" + srv.URL,
		}, env...)
		out, err := cmd.CombinedOutput()
		s := step{log: string(out), bin: filepath.Join(runner, "applinkctl-bin")}
		if ee, ok := err.(*exec.ExitError); ok {
			s.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(ghOut)
		s.outputs = string(b)
		b, _ = os.ReadFile(goLog)
		s.goCalls = string(b)
		return s
	}

	t.Run("the action's tag installs its release, without Go", func(t *testing.T) {
		s := run(t, "install", []string{"INPUT_VERSION=", "ACTION_REF=v1.2.3"}, false)
		if s.code != 0 || !strings.Contains(s.outputs, "version=v1.2.3\n") || !strings.Contains(s.outputs, "installed=true\n") {
			t.Fatalf("exit %d, outputs %q:\n%s", s.code, s.outputs, s.log)
		}
		if got, err := os.ReadFile(filepath.Join(s.bin, "applinkctl")); err != nil || !bytes.Equal(got, binary) {
			t.Errorf("installed %q, %v", got, err)
		}
	})

	t.Run("a branch without Go asks for Go, then the build step compiles it", func(t *testing.T) {
		s := run(t, "install", []string{"INPUT_VERSION=main", "ACTION_REF=v1.2.3"}, false)
		if s.code != 0 || !strings.Contains(s.outputs, "installed=false\n") || !strings.Contains(s.outputs, "version=main\n") {
			t.Fatalf("exit %d, outputs %q:\n%s", s.code, s.outputs, s.log)
		}
		b := run(t, "build", []string{"VERSION=main", "SOURCE="}, true)
		if want := "GOBIN=" + b.bin + " install github.com/applinkctl/applinkctl/cmd/applinkctl@main\n"; b.code != 0 || b.goCalls != want {
			t.Fatalf("build: exit %d, go %q, want %q:\n%s", b.code, b.goCalls, want, b.log)
		}
	})

	t.Run("a tag with no release falls back to go install", func(t *testing.T) {
		s := run(t, "install", []string{"INPUT_VERSION=v7.0.0", "ACTION_REF=v1.2.3"}, true)
		if want := "GOBIN=" + s.bin + " install github.com/applinkctl/applinkctl/cmd/applinkctl@v7.0.0\n"; s.code != 0 || s.goCalls != want {
			t.Fatalf("exit %d, go %q, want %q:\n%s", s.code, s.goCalls, want, s.log)
		}
	})

	t.Run("uses: ./ builds the checkout", func(t *testing.T) {
		s := run(t, "install", []string{"INPUT_VERSION=", "ACTION_REF="}, true)
		if want := "GOBIN=" + s.bin + " install ./cmd/applinkctl\n"; s.code != 0 || s.goCalls != want || !strings.Contains(s.outputs, "source="+root+"\n") {
			t.Fatalf("exit %d, go %q, want %q, outputs %q:\n%s", s.code, s.goCalls, want, s.outputs, s.log)
		}
	})

	t.Run("a version that is not a ref is refused", func(t *testing.T) {
		s := run(t, "install", []string{"INPUT_VERSION=v1.2.3\nsource=/tmp/evil", "ACTION_REF="}, true)
		if s.code == 0 || strings.Contains(s.outputs, "evil") || s.goCalls != "" {
			t.Fatalf("exit %d, outputs %q, go %q:\n%s", s.code, s.outputs, s.goCalls, s.log)
		}
	})
}
