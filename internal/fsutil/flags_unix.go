//go:build unix

package fsutil

import "syscall"

// openFlags open for reading without waiting: O_NONBLOCK makes opening a
// named pipe with no writer (or a serial line without carrier) return at
// once so that fstat can refuse it; it changes nothing for a regular file.
// O_NOCTTY keeps a terminal device from becoming the controlling terminal.
const openFlags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC

// noFollow refuses a final symbolic link where every link has already
// been resolved and checked.
const noFollow = syscall.O_NOFOLLOW
