package pgdialect

import (
	"fmt"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

func TestAlterIndex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // kind, objects, new name, IfExists; or "error <code>"
	}{
		{`ALTER INDEX a RENAME TO b`, `RenameIndex ALTER INDEX [a] b false`},
		{`ALTER INDEX IF EXISTS public."A" RENAME TO "B"`, `RenameIndex ALTER INDEX [public.A] B true`},
		{`ALTER INDEX a RENAME b`, "error 42601"},
		{`ALTER INDEX a RENAME TO b c`, "error 42601"},
		{`ALTER INDEX a`, "error 42601"},
		{`ALTER INDEX a SET TABLESPACE x`, "error 0A000"},
	} {
		stmts, err := Rewrite(tc.in)
		var got string
		switch {
		case err != nil:
			got = "error " + sqlerr.Code(err)
		case len(stmts) != 1 || stmts[0].Session == nil:
			got = fmt.Sprintf("not a session statement: %+v", stmts)
		default:
			s := stmts[0].Session
			got = fmt.Sprintf("%v %s %+v %s %v", s.Kind, s.Tag(), s.Objects, s.Name, s.IfExists)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
