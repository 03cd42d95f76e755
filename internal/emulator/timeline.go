package emulator

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// timelineCap bounds the timeline of a long-running emulator; past it the
// oldest tenth is dropped (and counted) at a time.
const timelineCap = 50_000

// TimelineEntry is one API request as the emulator served it: when it
// started and ended (End is nil while it runs) and who sent it. Host is
// the Host header: serving one Emulator on several listeners, one per
// client, tells clients apart whatever they send, since the *_API_URL
// config vars then point each client back at its own listener.
type TimelineEntry struct {
	Seq       int64      `json:"seq"`   // order of arrival, from 1
	Route     string     `json:"route"` // "METHOD /route/template", as in Requests
	Path      string     `json:"path"`
	Status    int        `json:"status"` // 0: no answer (dropped, or still running)
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
	Host      string     `json:"host"`
	Remote    string     `json:"remote"` // the client's address, ip:port
	UserAgent string     `json:"user_agent"`
}

// Mutating reports whether the request was a POST, PUT, PATCH or DELETE.
func (t TimelineEntry) Mutating() bool {
	switch t.Method() {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Method is the HTTP method of the route.
func (t TimelineEntry) Method() string {
	for i := 0; i < len(t.Route); i++ {
		if t.Route[i] == ' ' {
			return t.Route[:i]
		}
	}
	return t.Route
}

// Timeline is what GET /_emulator/timeline answers: the requests in order
// of arrival, and how many older ones were dropped to bound its size.
type Timeline struct {
	Requests []TimelineEntry `json:"requests"`
	Dropped  int             `json:"dropped"`
}

// timeline records every request that is counted (not the admin routes).
type timeline struct {
	mu      sync.Mutex
	seq     int64
	entries []*TimelineEntry
	dropped int
}

// begin records the start of r (matched as route) and returns the writer
// the handler must use, which notes the status, and the func to call when
// the handler returns.
func (tl *timeline) begin(route string, w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func()) {
	tl.mu.Lock()
	tl.seq++
	en := &TimelineEntry{Seq: tl.seq, Route: route, Path: r.URL.Path, Start: time.Now().UTC(),
		Host: r.Host, Remote: r.RemoteAddr, UserAgent: r.UserAgent()}
	if len(tl.entries) >= timelineCap {
		n := timelineCap / 10
		tl.entries = append(tl.entries[:0], tl.entries[n:]...)
		tl.dropped += n
	}
	tl.entries = append(tl.entries, en)
	tl.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	return sw, func() {
		end := time.Now().UTC()
		tl.mu.Lock()
		en.End = &end
		if !sw.hijacked {
			en.Status = sw.status
		}
		tl.mu.Unlock()
	}
}

// Timeline returns the requests recorded so far, in order of arrival.
func (e *Emulator) Timeline() Timeline {
	tl := &e.timeline
	tl.mu.Lock()
	defer tl.mu.Unlock()
	out := Timeline{Requests: make([]TimelineEntry, len(tl.entries)), Dropped: tl.dropped}
	for i, en := range tl.entries {
		out.Requests[i] = *en
		if en.End != nil {
			end := *en.End
			out.Requests[i].End = &end
		}
	}
	return out
}

// ResetTimeline forgets the recorded requests; numbering goes on.
func (e *Emulator) ResetTimeline() {
	tl := &e.timeline
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.entries, tl.dropped = nil, 0
}

// statusWriter notes the status a handler answers. It can still be
// hijacked, which is how the emulator drops a connection.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.hijacked = true
	return http.NewResponseController(s.ResponseWriter).Hijack()
}
