package pipeline

import (
	"context"
	"io"
	"os/exec"
	"runtime"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/state"
)

// OpenBrowsers wraps obs so that each OAuth redirect URI an apply waits on
// is also opened in the person's browser (apply --open-browser, on a
// terminal). The browsers started are bounded by ctx.
func OpenBrowsers(ctx context.Context, obs apply.Observer) apply.Observer {
	return browserOpener{Observer: obs, ctx: ctx}
}

// browserOpener opens each OAuth redirect URI in the person's browser.
type browserOpener struct {
	apply.Observer
	ctx context.Context
}

func (b browserOpener) Event(ev apply.Event) {
	b.Observer.Event(ev)
	if ev.Type != apply.EventWaitingOnBrowser || ev.RedirectURI == "" || ev.DryRun {
		return
	}
	name, args := "xdg-open", []string{ev.RedirectURI}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", ev.RedirectURI}
	}
	cmd := exec.CommandContext(b.ctx, name, args...)
	if err := cmd.Start(); err == nil {
		go func() { _ = cmd.Wait() }() // reaped when the opener exits; bounded by ctx
	}
}

// WithLockWaitOutput makes every wait for a state lock under ctx (a
// --lock-timeout) say on w who holds it, rather than wait in silence.
func WithLockWaitOutput(ctx context.Context, w io.Writer) context.Context {
	return state.WithLockWaitOutput(ctx, w)
}
