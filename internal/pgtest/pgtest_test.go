package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/applinkctl/applinkctl/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStartGivesFreshDatabases checks each call gets its own empty, writable
// database.
func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two calls returned one database %s", a)
	}
	for _, u := range []string{a, b} {
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		c.Close(ctx)
	}
}
