package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// Every file Load and BuildBundle read goes through the functions below
// and so through internal/fsutil: a named pipe, socket, device or
// directory is refused at once instead of hanging the run, sizes are
// checked before reading, and files found inside a directory (a -f
// directory's manifests, a metadata_dir's metadata) may not be symbolic
// links to outside it, so a repository cannot make a CI run read or upload
// the runner's files.

// readLimited reads a file the user named (a -f file, a key, a spec),
// following symbolic links, refusing what is not a regular file or is
// larger than limit.
func readLimited(path string, limit int64) ([]byte, error) {
	return fsutil.ReadFile(path, limit)
}

// readIn reads name from a directory whose entries the user did not name
// one by one: a link leading outside dir is refused.
func readIn(dir, name string, limit int64) ([]byte, error) {
	return fsutil.ReadFileIn(dir, name, limit)
}

// fileProblem phrases a failed read of the file a field names: "spec
// api/x.json is a named pipe, not a regular file", "spec api/x.json: no
// such file or directory". It never quotes the file.
func fileProblem(what, shown string, err error) string {
	name := strings.TrimSpace(what + " " + shown)
	if isRefusal(err) {
		return fmt.Sprintf("%s %v", name, err)
	}
	return fmt.Sprintf("%s: %s", name, describeFSError(err))
}

// isRefusal reports errors that read as a sentence after the path ("is a
// directory, not a regular file", "is a symbolic link to …, outside …").
func isRefusal(err error) bool {
	var esc *fsutil.EscapeError
	return errors.Is(err, fsutil.ErrNotRegular) || errors.As(err, &esc)
}

// metadataFiles reports which of the files publishing uploads sit in a
// metadata directory (shown is its path as the user would recognise it,
// which also opens it). A file that is there but may not be uploaded (a
// named pipe, a link to outside the directory) is an error.
func metadataFiles(shown string) (present map[string]bool, problems []string) {
	present = map[string]bool{}
	for _, n := range []string{connectedAppMeta, permissionSetMeta} {
		_, err := fsutil.StatIn(shown, n)
		switch {
		case err == nil:
			present[n] = true
		case errors.Is(err, fs.ErrNotExist):
		default:
			problems = append(problems, fileProblem("", n, err))
		}
	}
	return present, problems
}
