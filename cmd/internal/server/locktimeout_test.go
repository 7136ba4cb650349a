package server

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestLockTimeout: a statement that waits for another transaction's lock
// longer than lock_timeout fails with 55P03, as in PostgreSQL, and the
// same statement succeeds once the lock is released.
func TestLockTimeout(t *testing.T) {
	ctx := context.Background()
	srv := startNode(t)
	holder, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	waiter, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close(ctx)
	for _, q := range []string{"CREATE TABLE lt (k INT PRIMARY KEY, v INT)", "INSERT INTO lt VALUES (1, 0)"} {
		if _, err := holder.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE lt SET v = 1 WHERE k = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.Exec(ctx, "SET lock_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	_, err = waiter.Exec(ctx, "UPDATE lt SET v = 2 WHERE k = 1")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" || pe.Message != "canceling statement due to lock timeout" {
		t.Fatalf("want 55P03 canceling statement due to lock timeout, got %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.Exec(ctx, "UPDATE lt SET v = 2 WHERE k = 1"); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
	var v int
	if err := waiter.QueryRow(ctx, "SELECT v FROM lt WHERE k = 1").Scan(&v); err != nil || v != 2 {
		t.Fatalf("v = %d, %v", v, err)
	}
}
