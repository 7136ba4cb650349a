package plan

import (
	"fmt"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Virtual tables and session functions: the seams through which
// sql/pgcatalog serves pg_catalog and information_schema without the
// planner knowing anything about them.
//
// A virtual table is a Table whose Virtual field generates its rows for
// one execution (read in the execution's transaction). It has no indexes
// the planner could use: scans of it are VirtualScan nodes, and filters,
// joins, sorts and aggregates above it work as over any other node.

// VirtualRows generates all rows of a virtual table for one execution.
// Rows have one datum per column of the table's descriptor, in order.
type VirtualRows func(ec *ExecCtx) ([]Row, error)

// SchemaCatalog is implemented by catalogs that resolve schema-qualified
// names (pg_catalog.pg_class, information_schema.columns, public.t).
type SchemaCatalog interface {
	// TableIn resolves name in schema (42P01 if missing, 3F000 if the
	// schema does not exist).
	TableIn(schema, name string) (*Table, error)
}

// resolveTable resolves a possibly schema-qualified table name.
func (b *Builder) resolveTable(schema, name string) (*Table, error) {
	if schema != "" {
		if sc, ok := b.Catalog.(SchemaCatalog); ok {
			return sc.TableIn(schema, name)
		}
		if schema != "public" {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
		}
	}
	return b.Catalog.Table(name)
}

// errVirtualWrite is the error for a write into a system catalog: the
// catalogs are generated from descriptors, so nobody may write them (in
// PostgreSQL only a superuser may; others get 42501), and the system views
// are not updatable (55000), as in PostgreSQL.
func errVirtualWrite(t *Table, verb string) error {
	if t.View {
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "cannot %s view \"%s\"", verb, t.Desc.Name).
			WithDetail("Views that do not select from a single table or view are not automatically updatable.")
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for table %s", t.Desc.Name).
		WithDetail("The system catalogs are generated from the schema and cannot be written.")
}

// VirtualScan reads the rows of a virtual table. The rows are generated
// once per execution and reused by re-executions within it (correlated
// subqueries), since the catalog cannot change during one statement.
type VirtualScan struct {
	Table *Table
	Alias string
}

func (s *VirtualScan) Columns() []ResultCol {
	return (&Scan{Table: s.Table}).Columns()
}
func (s *VirtualScan) Children() []Node { return nil }
func (s *VirtualScan) Explain() string  { return "virtual scan " + s.Table.Desc.Name }
func (s *VirtualScan) Open(ec *ExecCtx) (RowIter, error) {
	if ec.materialized == nil {
		ec.materialized = map[Node][]Row{}
	}
	rows, ok := ec.materialized[s]
	if !ok {
		var err error
		if rows, err = s.Table.Virtual(ec); err != nil {
			return nil, err
		}
		var n int64
		for _, r := range rows {
			n += rowSize(r)
		}
		if err := ec.reserve(n); err != nil {
			return nil, err
		}
		ec.materialized[s] = rows
	}
	return &sliceIter{rows: rows}, nil
}

// SessionFuncs resolves functions that need the session or the catalog
// (format_type, pg_get_indexdef, current_schema, the reg* conversions,
// ...). Resolve returns nil, nil when name is not one of them, so that
// the builtins are looked up next.
type SessionFuncs interface {
	Resolve(name string, args []*types.T) (*SessionFunc, error)
}

// SessionFunc is a resolved session function.
type SessionFunc struct {
	Name string
	// Args has one type per argument of the call; arguments are coerced
	// to them.
	Args   []*types.T
	Result *types.T
	// Strict functions return NULL for any NULL argument without calling Fn.
	Strict bool
	Fn     func(ec *ExecCtx, args []types.Datum) (types.Datum, error)
}

// SessionCall evaluates a SessionFunc.
type SessionCall struct {
	F    *SessionFunc
	Args []Expr
}

func (c *SessionCall) Type() *types.T { return c.F.Result }
func (c *SessionCall) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	args := make([]types.Datum, len(c.Args))
	for i, a := range c.Args {
		d, err := a.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if d == types.Null && c.F.Strict {
			return types.Null, nil
		}
		args[i] = d
	}
	return c.F.Fn(ec, args)
}
func (c *SessionCall) String() string {
	parts := make([]string, len(c.Args))
	for i, a := range c.Args {
		parts[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", c.F.Name, strings.Join(parts, ", "))
}

// sessionCall resolves a call against b.Funcs; nil, nil if it is not a
// session function.
func (b *Builder) sessionCall(name string, args []Expr) (Expr, error) {
	if b.Funcs == nil {
		return nil, nil
	}
	argTypes := make([]*types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	f, err := b.Funcs.Resolve(name, argTypes)
	if err != nil || f == nil {
		return nil, err
	}
	for i := range args {
		if i >= len(f.Args) {
			break
		}
		want := f.Args[i]
		if args[i], err = b.coerce(args[i], want); err != nil {
			return nil, err
		}
		if want.Family != types.UnknownFamily && !args[i].Type().Equal(want) {
			args[i] = &Cast{E: args[i], T: want, Explicit: true}
		}
	}
	b.volatile = true // reads the catalog or session state
	return &SessionCall{F: f, Args: args}, nil
}

// regConversion turns a conversion between text and an OID alias type
// (regclass, regtype, ...) into the session function that looks the name
// up: 'books'::regclass, c.oid::regclass::text. ok is false when the
// conversion is a plain binary-coercible cast.
func (b *Builder) regConversion(e Expr, to *types.T) (Expr, bool, error) {
	from := e.Type()
	var name string
	switch {
	case to.IsRegType() && (from.Family == types.StringFamily || from.Family == types.UnknownFamily):
		name = "outpost_to_" + to.SQLString()
		if c, ok := e.(*Const); ok && c.T.Family == types.UnknownFamily {
			e = &Const{D: c.D, T: types.Text}
		}
	case from.IsRegType() && to.Family == types.StringFamily:
		name = "outpost_" + from.SQLString() + "_out"
	default:
		return nil, false, nil
	}
	if b.Funcs == nil {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "%s needs the catalog, which is not available here", name)
	}
	call, err := b.sessionCall(name, []Expr{e})
	if err != nil {
		return nil, true, err
	}
	if call == nil {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert %s to %s", from, to)
	}
	if to.Family == types.StringFamily && !to.Equal(types.Text) {
		call = &Cast{E: call, T: to, Explicit: true}
	}
	return call, true, nil
}
