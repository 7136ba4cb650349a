package pgdialect

import "github.com/outpostdb/outpost/sql/sqlerr"

// SetStorageParams is ALTER TABLE [IF EXISTS] [ONLY] name SET (param
// [= value], ...) and ResetStorageParams is ALTER TABLE ... RESET (param,
// ...): PostgreSQL's storage parameters (pg_class.reloptions). Objects[0]
// is the table, Params the parameters in order. TiDB has no such syntax;
// the session checks the names (edge_regions is the one Outpost knows).
const (
	SetStorageParams   SessionKind = 98
	ResetStorageParams SessionKind = 99
)

func init() {
	roleKindNames[SetStorageParams] = "SetStorageParams"
	roleKindNames[ResetStorageParams] = "ResetStorageParams"
}

// StorageParam is one parameter of SET (...) or RESET (...).
type StorageParam struct {
	// Name is folded unless quoted; a qualified name ("toast.x") keeps
	// its dot.
	Name string
	// Value is the value as written (string constants decoded, words
	// folded); HasValue is false for a bare name.
	Value    string
	HasValue bool
}

// storageParams parses ALTER TABLE ... SET|RESET (...), or returns nil for
// the other ALTER TABLE forms (SET SCHEMA, SET NOT NULL, ... go to TiDB).
func (r *rw) storageParams(seq []*node) *SessionStmt {
	i := 2
	ifExists := hasWords(seq, i, "if", "exists")
	if ifExists {
		i += 2
	}
	if hasWords(seq, i, "only") && i+1 < len(seq) && !seq[i+1].isKind(kDot) {
		i++
	}
	// The name: ident [. ident [. ident]], then SET|RESET and a group.
	j := i
	for {
		if n := nodeAt(seq, j); n == nil || !(n.isKind(kWord) || n.isKind(kQIdent)) {
			return nil
		}
		j++
		if n := nodeAt(seq, j); n == nil || !n.isKind(kDot) {
			break
		}
		j++
	}
	verb, group := nodeAt(seq, j), nodeAt(seq, j+1)
	if verb == nil || !(verb.is("set") || verb.is("reset")) || group == nil || !group.isParen() {
		return nil
	}
	s := &SessionStmt{Kind: SetStorageParams, tag: "ALTER TABLE", IfExists: ifExists}
	if verb.is("reset") {
		s.Kind = ResetStorageParams
	}
	p := &sparser{r: r, seq: seq, i: i}
	s.Objects = []ObjectName{p.objectName()}
	if len(group.kids) == 0 {
		r.failSyntax(&node{tok: group.close})
	}
	for _, item := range splitTop(group.kids) {
		s.Params = append(s.Params, r.storageParam(item, group, s.Kind == ResetStorageParams))
	}
	if n := nodeAt(seq, j+2); n != nil {
		if n.isKind(kComma) {
			r.notSupported(n, "ALTER TABLE ... %s (...) combined with other actions", verb.tok.val)
		}
		r.failSyntax(n)
	}
	return s
}

// storageParam parses name [. name] [= value].
func (r *rw) storageParam(item []*node, group *node, reset bool) StorageParam {
	if len(item) == 0 {
		r.failSyntax(&node{tok: group.close})
	}
	p := &sparser{r: r, seq: item}
	sp := StorageParam{Name: p.name()}
	if n := p.peek(); n != nil && n.isKind(kDot) {
		p.i++
		sp.Name += "." + p.name()
	}
	n := p.peek()
	if n == nil {
		return sp
	}
	if !n.isOp("=") {
		r.failSyntax(n)
	}
	if reset {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.SyntaxError, "RESET must not include values for parameters"))
	}
	p.i++
	if p.peek() == nil {
		r.failSyntax(&node{tok: group.close})
	}
	sp.Value, sp.HasValue = p.setValue(), true
	if m := p.peek(); m != nil {
		r.failSyntax(m)
	}
	return sp
}
