package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outpostdb/outpost/sql/logictest"
)

// pgxConn runs logic test records over the simple query protocol, so that
// values arrive exactly as the server formats them.
type pgxConn struct {
	ctx  context.Context
	conn *pgx.Conn
}

func (c *pgxConn) Exec(sql string) error {
	_, err := c.conn.Exec(c.ctx, sql, pgx.QueryExecModeSimpleProtocol)
	return err
}

func (c *pgxConn) Query(sql string) ([][]*string, error) {
	rows, err := c.conn.Query(c.ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func init() {
	logictest.Code = func(err error) string {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return pe.Code
		}
		return ""
	}
}

// logicTarget returns a DSN template ("%s" is the database) and a cleanup.
// OUTPOST_LOGIC_DSN runs the files against another server (a real
// PostgreSQL, to check the expectations), else an in-process node.
func logicTarget(t *testing.T) (string, func()) {
	if dsn := os.Getenv("OUTPOST_LOGIC_DSN"); dsn != "" {
		// Checking expectations against PostgreSQL: skip records marked
		// "onlyif outpost" (known, intended differences).
		logictest.Engines = map[string]bool{"postgresql": true}
		return dsn, func() {}
	}
	ctx := context.Background()
	srv, err := Start(ctx, Config{InMemory: true, SQLAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	return "postgres://root@" + srv.SQLAddr() + "/%s?sslmode=disable", func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = srv.Stop(cctx)
	}
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]`)

func runLogicFiles(t *testing.T, files []string) {
	dsnTmpl, cleanup := logicTarget(t)
	defer cleanup()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, fmt.Sprintf(dsnTmpl, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		t.Run(name, func(t *testing.T) {
			recs, err := logictest.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			db := "lt_" + nonIdent.ReplaceAllString(strings.ToLower(name), "_")
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.Connect(ctx, fmt.Sprintf(dsnTmpl, db))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			c := &pgxConn{ctx: ctx, conn: conn}
			failed := 0
			vars := map[string]string{}
			for _, rec := range recs {
				start := time.Now()
				err := logictest.RunRecordVars(c, rec, vars)
				if d := time.Since(start); d > 2*time.Second {
					t.Logf("%s:%d: slow record (%s)", rec.File, rec.Line, d)
				}
				if err != nil {
					failed++
					t.Errorf("%s:%d: %s\n%v", rec.File, rec.Line, rec.SQL, err)
					if failed > 20 {
						t.Fatal("too many failures")
					}
				}
			}
			t.Logf("%d records", len(recs))
		})
	}
}

// TestLogic runs testdata/logic/*.test.
func TestLogic(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/logic/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no logic test files (%v)", err)
	}
	runLogicFiles(t, files)
}

// TestSQLLogicTestCorpus runs the public sqllogictest subset in
// ../shared/sqllogictest (beside the repository).
func TestSQLLogicTestCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/sqllogictest/*.test")
	if len(files) == 0 {
		t.Fatal("the sqllogictest corpus is missing: expected ../shared/sqllogictest beside the repository")
	}
	runLogicFiles(t, files)
}
