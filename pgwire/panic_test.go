package pgwire

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// panicQuery makes the fake session panic, standing in for a bug.
const panicQuery = "SELECT outpost_test_panic()"

// TestSessionPanicEndsOnlyThatConnection: a panic inside a session becomes
// a FATAL XX000 for that client; the server and its other connections keep
// working.
func TestSessionPanicEndsOnlyThatConnection(t *testing.T) {
	s := startServer(t, Config{})
	ctx := context.Background()
	dsn := "postgres://u@" + s.addr + "/db?sslmode=disable"
	bystander, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer bystander.Close(ctx)
	victim, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	_, err = victim.Exec(ctx, panicQuery, pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "XX000" || pe.Severity != "FATAL" {
		t.Fatalf("want FATAL XX000, got %v", err)
	}
	if _, err := bystander.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("bystander broken: %v", err)
	}
	again, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("new connection refused: %v", err)
	}
	again.Close(ctx)
}
