package server

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestPgxLoadType: pgx v5 loads the definition of a type it does not know
// from pg_type and pg_attribute ($1::text::regtype::oid, typtype,
// typrelid, the attributes): here a table's row type.
func TestPgxLoadType(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, `CREATE TABLE point3 (x INT NOT NULL, y BIGINT, label TEXT)`); err != nil {
		t.Fatal(err)
	}
	typ, err := c.LoadType(ctx, "point3")
	if err != nil {
		t.Fatal(err)
	}
	codec, ok := typ.Codec.(*pgtype.CompositeCodec)
	if !ok {
		t.Fatalf("codec %T, want a composite codec", typ.Codec)
	}
	var got []string
	for _, f := range codec.Fields {
		got = append(got, f.Name+":"+f.Type.Name)
	}
	if want := "x:int4 y:int8 label:text"; joinSpace(got) != want {
		t.Fatalf("fields %q, want %q", joinSpace(got), want)
	}
	var oid uint32
	if err := c.QueryRow(ctx, `SELECT reltype FROM pg_class WHERE relname = 'point3'`).Scan(&oid); err != nil || oid != typ.OID {
		t.Fatalf("reltype %d (err %v), LoadType OID %d", oid, err, typ.OID)
	}
	c.TypeMap().RegisterType(typ)
	// A type name that does not exist is 42704, as in PostgreSQL.
	if _, err := c.LoadType(ctx, "nosuchtype"); pgCode(err) != "42704" {
		t.Fatalf("LoadType(nosuchtype): %v, want 42704", err)
	}
}

func joinSpace(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// TestIdleInTransactionTimeout: a session idle inside a transaction for
// longer than idle_in_transaction_session_timeout is ended with FATAL
// 25P03, as in PostgreSQL; outside a transaction the setting has no effect.
func TestIdleInTransactionTimeout(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, `SET idle_in_transaction_session_timeout = '150ms'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := c.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatalf("idle outside a transaction: %v", err)
	}
	if _, err := c.Exec(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// pgconn reports the server's FATAL ErrorResponse as the error.
	_, err := c.PgConn().ReceiveMessage(rctx)
	if pgCode(err) != "25P03" {
		t.Fatalf("got %v, want FATAL 25P03", err)
	}
	if _, err := c.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("the session survived idle_in_transaction_session_timeout")
	}
}
