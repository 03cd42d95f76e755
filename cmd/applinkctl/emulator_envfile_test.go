//go:build unix

package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEmulatorEnvFileRecipe runs the recipe of `emulator --help` and
// docs/emulator.md in a POSIX shell with the applinkctl binary: the
// emulator started in the background, a loop waiting for its --env-file,
// the file sourced. A child process then sees the settings exported, and
// they reach the running emulator with its key. When the emulator stops,
// the file goes.
func TestEmulatorEnvFileRecipe(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if _, err := exec.LookPath("applinkctl"); err != nil {
		t.Fatalf("testscript.Main installs applinkctl on $PATH: %v", err)
	}
	dir := t.TempDir()
	env := filepath.Join(dir, "em.env")
	// The recipe as documented, then: the emulator's pid, what a child
	// process sees, and wait for the emulator to stop.
	script := `rm -f "$ENVFILE"; applinkctl emulator --listen 127.0.0.1:0 --env-file "$ENVFILE" 2>/dev/null &
while [ ! -s "$ENVFILE" ]; do sleep 0.1; done; . "$ENVFILE"
echo "pid $!"
sh -c 'echo "env $HEROKU_API_URL $HEROKU_API_KEY $SALESFORCE_LOGIN_URL"'
wait
echo done`
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = append(os.Environ(), "ENVFILE="+env)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The shell and the emulator it starts share a process group: ended
	// together, at the end or when the recipe never finds its file and
	// would loop for ever (given up generously, for a loaded machine).
	killAll := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	defer func() { killAll(); _ = cmd.Wait() }()
	stop := time.AfterFunc(2*time.Minute, killAll)
	defer stop.Stop()
	sc := bufio.NewScanner(out)
	var pid int
	var url, key, login string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "pid ") {
			if _, err := fmt.Sscan(line[4:], &pid); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		}
		if f := strings.Fields(line); len(f) == 4 && f[0] == "env" {
			url, key, login = f[1], f[2], f[3]
			break
		}
	}
	if pid == 0 || !strings.HasPrefix(url, "http://127.0.0.1:") || key == "" || login != url {
		t.Fatalf("recipe gave pid %d, url %q, key set %v, login %q", pid, url, key != "", login)
	}
	st, err := os.Stat(env)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left beside the env file: %v", ents)
	}

	// The settings reach the emulator the recipe started.
	res, err := http.Post(url+"/_emulator/apps", "application/json", strings.NewReader(`{"name":"acme-api","addons":1}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	req, _ := http.NewRequest("GET", url+"/apps/acme-api/config-vars", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("config-vars with the sourced key: %d", res.StatusCode)
	}

	// Stopped, it removes the file.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		if sc.Text() == "done" {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("recipe: %v", err)
	}
	if _, err := os.Stat(env); !os.IsNotExist(err) {
		t.Errorf("env file still there after the emulator stopped: %v", err)
	}
}
