package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Foreign keys end to end: COPY into a referencing table is checked, and
// a concurrent insert of a child and delete of its parent cannot both
// commit (the checks read the other table in the statement's serializable
// transaction).

func TestForeignKeyCopy(t *testing.T) {
	srv := startNode(t)
	c := mustConnect(t, srv)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE fp (id INT PRIMARY KEY)`,
		`CREATE TABLE fc (id INT PRIMARY KEY, p_id INT REFERENCES fp)`,
		`INSERT INTO fp VALUES (1), (2)`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	copyRows := func(rows [][]any) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"fc"}, []string{"id", "p_id"}, pgx.CopyFromRows(rows))
		return err
	}
	err := copyRows([][]any{{1, 1}, {2, nil}, {3, 9}})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23503" || pe.Detail != `Key (p_id)=(9) is not present in table "fp".` || pe.Where != "COPY fc, line 3" {
		t.Fatalf("COPY of a dangling row: %#v", err)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM fc`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left by the failed COPY: %d %v", n, err)
	}
	if err := copyRows([][]any{{1, 1}, {2, nil}, {3, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM fc`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows after COPY: %d %v", n, err)
	}
}

func TestForeignKeyConcurrentInsertDelete(t *testing.T) {
	srv := startNode(t)
	a := mustConnect(t, srv)
	b := mustConnect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range []string{
		`CREATE TABLE cp (id INT PRIMARY KEY)`,
		`CREATE TABLE cc (id INT PRIMARY KEY, p_id INT REFERENCES cp)`,
		`INSERT INTO cp VALUES (1)`,
	} {
		if _, err := a.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	ta, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Exec(ctx, `INSERT INTO cc VALUES (1, 1)`); err != nil {
		t.Fatal(err)
	}
	// The delete runs in its own transaction while the insert is open; it
	// may wait for it, so it runs in the background.
	done := make(chan error, 1)
	go func() {
		tb, err := b.Begin(ctx)
		if err != nil {
			done <- err
			return
		}
		if _, err := tb.Exec(ctx, `DELETE FROM cp WHERE id = 1`); err != nil {
			_ = tb.Rollback(ctx)
			done <- err
			return
		}
		done <- tb.Commit(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	errA := ta.Commit(ctx)
	errB := <-done
	if errA == nil && errB == nil {
		t.Fatal("both the child insert and the parent delete committed")
	}
	for _, err := range []error{errA, errB} {
		var pe *pgconn.PgError
		if err != nil && (!errors.As(err, &pe) || (pe.Code != "23503" && pe.Code != "40001")) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	// Whatever committed, no child is left dangling.
	var orphans int
	if err := a.QueryRow(ctx, `SELECT count(*) FROM cc WHERE p_id NOT IN (SELECT id FROM cp)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("orphans: %d %v (insert: %v, delete: %v)", orphans, err, errA, errB)
	}
	t.Logf("insert: %v; delete: %v", errA, errB)
}
