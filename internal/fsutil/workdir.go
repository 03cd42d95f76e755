package fsutil

import (
	"os"
	"path/filepath"
	"strings"
)

// RelativeToWorkdir writes paths under the working directory relative to
// it, with forward slashes, and leaves the others as they are: a plan saved
// on one CI runner then applies on another whose checkout sits elsewhere,
// plans carry no home-directory paths, and a reviewer finds a named file
// in the repository.
func RelativeToWorkdir(files []string) []string {
	out := make([]string, len(files))
	wd, err := os.Getwd()
	for i, f := range files {
		out[i] = f
		if err != nil || !filepath.IsAbs(f) {
			continue
		}
		if r, rerr := filepath.Rel(wd, f); rerr == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			out[i] = filepath.ToSlash(r)
		}
	}
	return out
}
