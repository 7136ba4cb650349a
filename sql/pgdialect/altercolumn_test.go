package pgdialect

import (
	"fmt"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

func TestAlterColumnActions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // rewritten text and AlterColumns, or "error <code>"
	}{
		{`ALTER TABLE "t" ALTER COLUMN "name" TYPE varchar(200) USING "name"::varchar(200)`,
			`alter table "t" MODIFY COLUMN "name" BLOB map[name:{Type:varchar(200) Using:true SetNotNull:false DropNotNull:false}]`},
		{`ALTER TABLE t ALTER c SET DATA TYPE int8`,
			"alter table t MODIFY COLUMN c BLOB map[c:{Type:bigint Using:false SetNotNull:false DropNotNull:false}]"},
		{`ALTER TABLE t ALTER COLUMN c TYPE text, ALTER COLUMN c SET NOT NULL`,
			"alter table t MODIFY COLUMN c BLOB, MODIFY COLUMN c BLOB map[c:{Type:text Using:false SetNotNull:true DropNotNull:false}]"},
		{`ALTER TABLE t ALTER COLUMN c DROP NOT NULL`,
			"alter table t MODIFY COLUMN c BLOB map[c:{Type: Using:false SetNotNull:false DropNotNull:true}]"},
		{`ALTER TABLE t ALTER COLUMN c TYPE int USING c + 1`, "error 0A000"},
		{`ALTER TABLE t ALTER COLUMN c TYPE int USING d::int`, "error 0A000"},
		{`ALTER TABLE t ALTER COLUMN c TYPE int USING c::bigint`, "error 0A000"},
		{`ALTER TABLE t ALTER COLUMN c TYPE text COLLATE "C"`, "error 0A000"},
		{`ALTER TABLE t ALTER COLUMN c TYPE int c`, "error 42601"},
		{`ALTER TABLE t ALTER COLUMN c TYPE`, "error 42601"},
	} {
		stmts, err := Rewrite(tc.in)
		var got string
		switch {
		case err != nil:
			got = "error " + sqlerr.Code(err)
		case len(stmts) != 1:
			got = fmt.Sprintf("%d statements", len(stmts))
		default:
			m := map[string]AlterColumn{}
			for k, v := range stmts[0].Info.AlterColumns {
				m[k] = *v
			}
			got = fmt.Sprintf("%s %+v", stmts[0].Main.SQL, m)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
