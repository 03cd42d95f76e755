package main

import (
	"fmt"
	"os"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// sandboxOptions are the emulator settings of --sandbox: browser flows
// approve themselves after about a second, and pending statuses last long
// enough for a newcomer to see them move without making the examples slow.
// APPLINKCTL_EMULATOR_PAGE_SIZE sets its page size (a test knob: every list
// paged at 1) and APPLINKCTL_EMULATOR_VARIANTS its variants (another: the
// API's open questions answered otherwise).
func sandboxOptions(dir string) (emulator.Options, error) {
	pageSize, err := emulator.PageSizeFromEnv(os.LookupEnv)
	if err != nil {
		return emulator.Options{}, fmt.Errorf("sandbox: %w", err)
	}
	variants, err := emulator.VariantsFromEnv(os.LookupEnv)
	if err != nil {
		return emulator.Options{}, fmt.Errorf("sandbox: %w", err)
	}
	return emulator.Options{
		PageSize:          pageSize,
		Variants:          variants,
		Dir:               dir,
		ApproveOAuthAfter: time.Second,
		AsyncDelay: map[string]time.Duration{
			emulator.KindConnection:    500 * time.Millisecond,
			emulator.KindAuthorization: 500 * time.Millisecond,
			emulator.KindTarget:        1500 * time.Millisecond,
			emulator.KindDelete:        500 * time.Millisecond,
		},
	}, nil
}
