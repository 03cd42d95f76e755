package state

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// HeartbeatInterval is how often a held lock is checked while a run holds
// it: on Postgres a query on the lock's own session (which also keeps the
// session from looking idle to idle_session_timeout), on a file a look at
// the lock file. A lost lock is noticed within about this long, or at once
// by the next state write, which is fenced.
const HeartbeatInterval = time.Second

// heartbeatTimeout bounds one heartbeat query. A server that has not
// answered by then is unreachable: the lock is treated as lost rather than
// trusted blindly.
const heartbeatTimeout = 15 * time.Second

// LockLostError says the run's state lock was lost while the run held it:
// its Postgres session was terminated or dropped, or its lock file was
// removed or replaced. Another run may hold the lock now, so every state
// write of this run is refused with this error, and the run must start no
// further change.
type LockLostError struct {
	Where string // the backend's description
	Cause string // what happened, for a person
}

func (e *LockLostError) Error() string {
	return fmt.Sprintf("state %s: lost the state lock: %s", e.Where, e.Cause)
}

// releasedError refuses a write under a lease already given up (a write
// racing its own release).
func releasedError(where string) error {
	return fmt.Errorf("state %s: the state lock was released; refusing to write state without it", where)
}

// lease is one held lock as its holder sees it. lost is closed, with err
// set, once the lock is known to be gone; released is set when the holder
// gave it up. A backend keeps a lost lease after release, so a run that
// lost its lock never writes again; a lease released while still held is
// dropped, and the backend writes as one that never locked.
type lease struct {
	where string

	lostOnce sync.Once
	lost     chan struct{}
	err      *LockLostError

	mu       sync.Mutex // guards released
	released bool

	stop chan struct{} // closed to end the heartbeat
	done chan struct{} // closed when the heartbeat has ended
}

func newLease(where string) *lease {
	return &lease{where: where, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
}

// markLost records why the lock is gone; the first cause wins.
func (l *lease) markLost(e *LockLostError) *LockLostError {
	l.lostOnce.Do(func() {
		l.err = e
		close(l.lost)
	})
	<-l.lost
	return l.err
}

// lostErr is the *LockLostError once the lock is known lost, else nil.
func (l *lease) lostErr() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

// usable is nil while the lease may still be written under: not released
// and not known lost.
func (l *lease) usable() error {
	if err := l.lostErr(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return releasedError(l.where)
	}
	return nil
}

// beat runs check every HeartbeatInterval until the lease ends or check
// reports the lock lost.
func (l *lease) beat(check func() *LockLostError) {
	defer close(l.done)
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.lost:
			return
		case <-t.C:
			if e := check(); e != nil {
				l.markLost(e)
				return
			}
		}
	}
}

// end stops the heartbeat and marks the lease released; it reports
// whether it had already ended.
func (l *lease) end() (already bool) {
	l.mu.Lock()
	already = l.released
	l.released = true
	l.mu.Unlock()
	if !already {
		close(l.stop)
	}
	<-l.done
	return already
}

// leaser is a backend that can say which lock it holds.
type leaser interface {
	currentLease() *lease
}

// asLockLost reports whether err says the lock was lost.
func asLockLost(err error) bool {
	var le *LockLostError
	return errors.As(err, &le)
}
