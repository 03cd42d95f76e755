package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks what the image promises without a container
// engine (.ci/release-snapshot.sh builds and runs it where one works): a
// Go builder at go.mod's version, a static build stamped like `make build`,
// and a scratch image holding the CA certificates, a static shell and a
// passwd entry for the non-root user it runs as.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !strings.Contains(df, "ARG GO_VERSION="+string(goVersion[1])+"\n") {
		t.Errorf("the builder's GO_VERSION is not go.mod's %s", goVersion[1])
	}
	froms := regexp.MustCompile(`(?m)^FROM (.*)$`).FindAllStringSubmatch(df, -1)
	if len(froms) != 2 || froms[0][1] != "golang:${GO_VERSION} AS build" || froms[1][1] != "scratch" {
		t.Fatalf("want a golang builder and a scratch image, got %q", froms)
	}
	final := df[strings.LastIndex(df, "\nFROM scratch"):]
	for _, want := range []string{
		"CGO_ENABLED=0 go build -trimpath",
		"-X main.version=${VERSION} -X main.commit=${COMMIT}",
		"cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/",
		// A static shell for CI job scripts (GitLab CI runs them in the image).
		"busybox-static",
		`ln -s busybox "/out/bin/$a"`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(final)
	if user == nil || user[1] == "0" || user[2] == "0" {
		t.Fatalf("the image must run as a numeric non-root user, got %q", user)
	}
	if !strings.Contains(df, "'applinkctl:x:"+user[1]+":"+user[2]+":") || !strings.Contains(df, "'applinkctl:x:"+user[2]+":'") {
		t.Errorf("no passwd and group entry for %s:%s", user[1], user[2])
	}
	if !strings.Contains(final, `ENTRYPOINT ["/usr/local/bin/applinkctl"]`) {
		t.Error("the entrypoint is the binary")
	}
}
