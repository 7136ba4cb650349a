package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5"
)

// TestPortalSuspension drives the extended protocol by hand: Execute with a
// row limit suspends the portal (PortalSuspended) and a later Execute
// resumes it, inside one implicit transaction ended by Sync.
func TestPortalSuspension(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE p (k INT PRIMARY KEY); INSERT INTO p VALUES (1), (2), (3), (4), (5)`); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	nc, err := net.Dial("tcp", srv.SQLAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(pgproto3.NewChunkReader(nc), nc)
	send := func(msgs ...pgproto3.FrontendMessage) {
		for _, m := range msgs {
			if err := fe.Send(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "root", "database": "defaultdb"}})
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	send(&pgproto3.Parse{Name: "s", Query: "SELECT k FROM p WHERE k > $1 ORDER BY k"},
		&pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("1")}},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Sync{})
	var got []string
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			got = append(got, "row "+string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			got = append(got, "suspended")
		case *pgproto3.CommandComplete:
			got = append(got, "complete")
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			want := "[row 2 row 3 suspended row 4 row 5 suspended complete]"
			if s := fmtList(got); s != want {
				t.Fatalf("got %s, want %s", s, want)
			}
			if m.TxStatus != 'I' {
				t.Fatalf("status %c after Sync", m.TxStatus)
			}
			return
		}
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
