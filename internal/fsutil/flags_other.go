//go:build !unix

package fsutil

import "os"

// openFlags: without O_NONBLOCK the fstat check still refuses what is not
// a regular file, after the open.
const openFlags = os.O_RDONLY

const noFollow = 0
