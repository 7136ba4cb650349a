package pgdialect

import (
	"fmt"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

func TestStorageParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // kind, tag, objects, IfExists, params; or "error <code>"; or "tidb"
	}{
		{`ALTER TABLE t SET (edge_regions = 'eu,ap')`, `SetStorageParams ALTER TABLE [t] false [{Name:edge_regions Value:eu,ap HasValue:true}]`},
		{`alter table if exists only public."T" set (Edge_Regions = EU, fillfactor=50, autovacuum_enabled)`,
			`SetStorageParams ALTER TABLE [public.T] true [{Name:edge_regions Value:eu HasValue:true} {Name:fillfactor Value:50 HasValue:true} {Name:autovacuum_enabled Value: HasValue:false}]`},
		{`ALTER TABLE t SET ("X" = -5, toast.a = 'b')`, `SetStorageParams ALTER TABLE [t] false [{Name:X Value:-5 HasValue:true} {Name:toast.a Value:b HasValue:true}]`},
		{`ALTER TABLE t RESET (edge_regions)`, `ResetStorageParams ALTER TABLE [t] false [{Name:edge_regions Value: HasValue:false}]`},
		{`ALTER TABLE t RESET (a, b);`, `ResetStorageParams ALTER TABLE [t] false [{Name:a Value: HasValue:false} {Name:b Value: HasValue:false}]`},
		{`ALTER TABLE t RESET (a = 1)`, "error 42601"},
		{`ALTER TABLE t SET ()`, "error 42601"},
		{`ALTER TABLE t SET (a = )`, "error 42601"},
		{`ALTER TABLE t SET (a = 1 2)`, "error 42601"},
		{`ALTER TABLE t SET (a.b.c = 1)`, "error 42601"},
		{`ALTER TABLE t SET (a = 1,)`, "error 42601"},
		{`ALTER TABLE t SET (a = 1) xx`, "error 42601"},
		{`ALTER TABLE t SET (a = 1), ADD COLUMN b INT`, "error 0A000"},
		{`ALTER TABLE t SET (1 = 1)`, "error 42601"},
		{`ALTER TABLE t ADD COLUMN b INT`, "tidb"},
		{`ALTER TABLE t ALTER COLUMN b SET NOT NULL`, "tidb"},
	} {
		stmts, err := Rewrite(tc.in)
		var got string
		switch {
		case err != nil:
			got = "error " + sqlerr.Code(err)
		case len(stmts) != 1:
			got = fmt.Sprintf("%d statements", len(stmts))
		case stmts[0].Session == nil:
			got = "tidb"
		default:
			s := stmts[0].Session
			got = fmt.Sprintf("%v %s %+v %v %+v", s.Kind, s.Tag(), s.Objects, s.IfExists, s.Params)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
