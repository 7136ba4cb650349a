package pgdialect

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// SessionKind says which statement a SessionStmt is.
type SessionKind uint8

// Session statement kinds.
const (
	// Begin is BEGIN [WORK|TRANSACTION] / START TRANSACTION [modes].
	Begin SessionKind = iota + 1
	// Commit is COMMIT / END.
	Commit
	// Rollback is ROLLBACK / ABORT.
	Rollback
	// Savepoint is SAVEPOINT name.
	Savepoint
	// ReleaseSavepoint is RELEASE [SAVEPOINT] name.
	ReleaseSavepoint
	// RollbackToSavepoint is ROLLBACK TO [SAVEPOINT] name.
	RollbackToSavepoint
	// Set is SET [SESSION|LOCAL] name {TO|=} value[, ...], SET TIME ZONE,
	// SET NAMES, SET SCHEMA.
	Set
	// SetTransaction is SET TRANSACTION modes, or SET SESSION
	// CHARACTERISTICS AS TRANSACTION modes (SessionDefault set).
	SetTransaction
	// Reset is RESET name / RESET ALL.
	Reset
	// Show is SHOW name / SHOW ALL.
	Show
	// Discard is DISCARD ALL|PLANS|SEQUENCES|TEMP (Name says which).
	Discard
	// Deallocate is DEALLOCATE [PREPARE] name|ALL.
	Deallocate
	// Prepare is PREPARE name [(types)] AS statement.
	Prepare
	// Execute is EXECUTE name [(args)].
	Execute
	// DropIndex is DROP INDEX [CONCURRENTLY] [IF EXISTS] name[, ...]
	// [CASCADE|RESTRICT]: TiDB wants the index's table, which only the
	// catalog knows.
	DropIndex
	// Truncate is TRUNCATE [TABLE] [ONLY] name[, ...] [RESTART|CONTINUE
	// IDENTITY] [CASCADE|RESTRICT] (TiDB takes a single table).
	Truncate
	// Copy is COPY ... FROM STDIN / TO STDOUT.
	Copy
	// Noop is a maintenance statement that has nothing to do in Outpost
	// but must succeed for tools (VACUUM, ANALYZE, CHECKPOINT: pgbench -i
	// runs them); Name is the statement.
	Noop
)

var kindNames = [...]string{
	Begin: "Begin", Commit: "Commit", Rollback: "Rollback", Savepoint: "Savepoint",
	ReleaseSavepoint: "ReleaseSavepoint", RollbackToSavepoint: "RollbackToSavepoint",
	Set: "Set", SetTransaction: "SetTransaction", Reset: "Reset", Show: "Show",
	Discard: "Discard", Deallocate: "Deallocate", Prepare: "Prepare", Execute: "Execute",
	DropIndex: "DropIndex", Truncate: "Truncate", Copy: "Copy", Noop: "Noop",
}

func (k SessionKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	if n, ok := roleKindNames[k]; ok {
		return n
	}
	return "SessionKind(?)"
}

// AccessMode is a transaction's READ ONLY / READ WRITE mode.
type AccessMode uint8

// Access modes.
const (
	AccessUnspecified AccessMode = iota
	ReadWrite
	ReadOnly
)

// TxnModes are the transaction modes of BEGIN and SET TRANSACTION.
type TxnModes struct {
	// Isolation is "serializable", "repeatable read", "read committed",
	// "read uncommitted", or "" when not given.
	Isolation string
	Access    AccessMode
	// Deferrable is nil when not given.
	Deferrable *bool
	// AsOf is "SELECT <expr>" for AS OF SYSTEM TIME <expr>, nil if none.
	AsOf *Text
}

// ObjectName is a possibly schema-qualified name, as TiDB would name it
// (unquoted parts folded).
type ObjectName struct {
	Schema string
	Name   string
}

func (o ObjectName) String() string {
	if o.Schema != "" {
		return o.Schema + "." + o.Name
	}
	return o.Name
}

// CopyStmt is a parsed COPY.
type CopyStmt struct {
	Table   ObjectName
	Columns []string
	// Query is the text of COPY (query) TO STDOUT.
	Query string
	// From is COPY ... FROM STDIN; otherwise TO STDOUT.
	From bool
	// Options maps lower-cased option names to their values ("format" →
	// "csv", "header" → "true", "delimiter" → ",", ...).
	Options map[string]string
	// Dups names options given more than once (an error).
	Dups []string
}

// SessionStmt is a statement the session executes itself; it never
// reaches TiDB.
type SessionStmt struct {
	Kind SessionKind
	// Name is the variable (Set, Reset, Show: lower-cased, "timezone" for
	// TIME ZONE, "transaction_isolation" for SHOW TRANSACTION ISOLATION
	// LEVEL), the savepoint, the prepared statement, or what Discard
	// discards.
	Name string
	// All is RESET ALL, SHOW ALL, DEALLOCATE ALL.
	All bool
	// Local is SET LOCAL.
	Local bool
	// Values are the values of SET: string constants decoded, names
	// folded, numbers as written.
	Values []string
	// Default is SET name TO DEFAULT (Values is empty).
	Default bool
	// Txn holds Begin and SetTransaction modes.
	Txn TxnModes
	// SessionDefault is SET SESSION CHARACTERISTICS AS TRANSACTION.
	SessionDefault bool
	// Query is the statement of PREPARE ... AS, as written.
	Query string
	// ParamTypes are PREPARE's parameter types, normalized.
	ParamTypes []string
	// Args is "SELECT arg1, arg2, ..." for EXECUTE name(args), nil
	// without arguments.
	Args *Text
	// Objects are the indexes of DropIndex and the tables of Truncate.
	Objects []ObjectName
	// IfExists is DROP INDEX IF EXISTS.
	IfExists bool
	// Cascade is CASCADE on DropIndex or Truncate.
	Cascade bool
	// RestartIdentity is TRUNCATE ... RESTART IDENTITY.
	RestartIdentity bool
	// Copy is set for Copy.
	Copy *CopyStmt
	// Role is set for CreateRole, AlterRole and DropRole; Grant for
	// Grant and Revoke.
	Role  *RoleStmt
	Grant *GrantStmt
	// Owner is set for AlterOwner, ReassignOwned and DropOwned.
	Owner *OwnerStmt
	// Params are the parameters of Set/ResetStorageParams.
	Params []StorageParam

	tag string
}

// Tag is the CommandComplete tag. For Execute it is empty: PostgreSQL
// reports the tag of the prepared statement.
func (s *SessionStmt) Tag() string { return s.tag }

// sessionWords are the statements handled as session statements.
var sessionWords = wordSet(`BEGIN START COMMIT END ROLLBACK ABORT SAVEPOINT RELEASE SET RESET
SHOW DISCARD DEALLOCATE PREPARE EXECUTE LISTEN UNLISTEN TRUNCATE COPY VACUUM ANALYZE ANALYSE
CHECKPOINT`)

// session parses seq as a session statement, or returns nil.
func (r *rw) session(seq []*node, toks []token) *SessionStmt {
	head := seq[0]
	if !head.isKind(kWord) {
		return nil
	}
	if hasWords(seq, 0, "drop", "index") {
		return r.dropIndex(seq)
	}
	if hasWords(seq, 0, "alter", "index") {
		return r.alterIndex(seq)
	}
	if hasWords(seq, 0, "alter", "table") {
		if s := r.splitAt(seq, toks); s != nil {
			return s
		}
		if s := r.storageParams(seq); s != nil {
			return s
		}
	}
	if s := r.roleStmt(seq); s != nil {
		return s
	}
	if !sessionWords[head.tok.val] {
		return nil
	}
	p := &sparser{r: r, seq: seq, i: 1, toks: toks}
	s := &SessionStmt{}
	notSupported := func(n *node, what string) {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	switch head.tok.val {
	case "begin", "start":
		if head.is("start") {
			p.expect("transaction")
			s.tag = "START TRANSACTION"
		} else {
			p.optional("work", "transaction")
			s.tag = "BEGIN"
		}
		s.Kind = Begin
		p.txnModes(&s.Txn)
	case "commit", "end":
		if hasWords(seq, 1, "prepared") {
			notSupported(seq[1], "two-phase commit")
		}
		s.Kind, s.tag = Commit, "COMMIT"
		p.optional("work", "transaction")
		p.chain()
	case "rollback", "abort":
		if hasWords(seq, 1, "prepared") {
			notSupported(seq[1], "two-phase commit")
		}
		s.Kind, s.tag = Rollback, "ROLLBACK"
		p.optional("work", "transaction")
		if head.is("rollback") && p.optional("to") {
			p.optional("savepoint")
			s.Kind = RollbackToSavepoint
			s.Name = p.name()
		} else {
			p.chain()
		}
	case "savepoint":
		s.Kind, s.tag = Savepoint, "SAVEPOINT"
		s.Name = p.name()
	case "release":
		s.Kind, s.tag = ReleaseSavepoint, "RELEASE"
		p.optional("savepoint")
		s.Name = p.name()
	case "set":
		p.set(s)
	case "reset":
		s.Kind, s.tag = Reset, "RESET"
		switch {
		case p.optional("all"):
			s.All = true
		case p.optional("time"):
			p.expect("zone")
			s.Name = "timezone"
		case hasWords(seq, 1, "session", "authorization"), hasWords(seq, 1, "role"):
			notSupported(seq[1], "roles")
		default:
			s.Name = p.varName()
		}
	case "show":
		s.Kind, s.tag = Show, "SHOW"
		switch {
		case p.optional("all"):
			s.All = true
		case hasWords(seq, 1, "transaction", "isolation", "level"):
			p.i += 3
			s.Name = "transaction_isolation"
		case hasWords(seq, 1, "time", "zone"):
			p.i += 2
			s.Name = "timezone"
		case hasWords(seq, 1, "session", "authorization"):
			p.i += 2
			s.Name = "session_authorization"
		case hasWords(seq, 1, "last", "read"):
			// SHOW LAST READ: how the session's last statement read.
			p.i += 2
			s.Name = "last_read"
		case hasWords(seq, 1, "ranges"):
			// SHOW RANGES [FROM TABLE t]: the cluster's ranges.
			p.i++
			s.Name = "ranges"
			if p.optional("from") {
				p.optional("table")
				s.Objects = append(s.Objects, p.objectName())
			}
		default:
			s.Name = p.varName()
		}
	case "discard":
		s.Kind = Discard
		n := p.next()
		switch {
		case n.is("all"), n.is("plans"), n.is("sequences"):
			s.Name = n.tok.val
		case n.is("temp"), n.is("temporary"):
			s.Name = "temp"
		default:
			r.failSyntax(n)
		}
		s.tag = "DISCARD " + strings.ToUpper(s.Name)
		s.All = s.Name == "all"
	case "deallocate":
		s.Kind, s.tag = Deallocate, "DEALLOCATE"
		p.optional("prepare")
		if p.optional("all") {
			s.All, s.tag = true, "DEALLOCATE ALL"
		} else {
			s.Name = p.name()
		}
	case "prepare":
		if hasWords(seq, 1, "transaction") {
			notSupported(seq[1], "two-phase commit")
		}
		s.Kind, s.tag = Prepare, "PREPARE"
		s.Name = p.name()
		if g := p.peek(); g != nil && g.isParen() {
			p.i++
			for _, item := range splitTop(g.kids) {
				typ, j := r.parseType(item, 0, false)
				if j != len(item) {
					r.failSyntax(nodeAt(item, j))
				}
				s.ParamTypes = append(s.ParamTypes, typ)
			}
		}
		p.expect("as")
		if p.i >= len(seq) {
			r.failSyntax(nil)
		}
		last := toks[len(toks)-1]
		s.Query = r.src[seq[p.i].tok.pos:last.end]
		p.i = len(seq)
	case "execute":
		s.Kind = Execute
		s.Name = p.name()
		if g := p.peek(); g != nil && g.isParen() {
			p.i++
			pos := g.tok.pos
			s.Args = render(r.src, r.process(append([]*node{raw("SELECT", pos)}, g.kids...), false), toks, g.close)
		}
	case "listen", "unlisten":
		notSupported(head, strings.ToUpper(head.tok.val))
	case "truncate":
		s.Kind, s.tag = Truncate, "TRUNCATE TABLE"
		p.optional("table")
		for {
			p.optional("only")
			s.Objects = append(s.Objects, p.objectName())
			if n := p.peek(); n != nil && n.isOp("*") {
				p.i++
			}
			if n := p.peek(); n == nil || !n.isKind(kComma) {
				break
			}
			p.i++
		}
		for p.i < len(seq) {
			switch {
			case hasWords(seq, p.i, "restart", "identity"):
				s.RestartIdentity = true
				p.i += 2
			case hasWords(seq, p.i, "continue", "identity"):
				p.i += 2
			case p.optional("cascade"):
				s.Cascade = true
			case p.optional("restrict"):
			default:
				r.failSyntax(seq[p.i])
			}
		}
	case "copy":
		s.Kind, s.tag = Copy, "COPY"
		s.Copy = p.copyStmt()
	case "vacuum", "analyze", "analyse", "checkpoint":
		// Statistics and space reclamation are Outpost's own business;
		// the statement (any options, any tables) does nothing.
		name := head.tok.val
		if name == "analyse" {
			name = "analyze"
		}
		s.Kind, s.Name, s.tag = Noop, name, strings.ToUpper(name)
		p.i = len(seq)
	}
	p.done()
	return s
}

// sparser walks the nodes of a session statement.
type sparser struct {
	r    *rw
	seq  []*node
	i    int
	toks []token
}

func (p *sparser) peek() *node { return nodeAt(p.seq, p.i) }

func (p *sparser) next() *node {
	n := p.peek()
	if n == nil {
		p.r.failSyntax(nil)
	}
	p.i++
	return n
}

// optional consumes the next word if it is one of words.
func (p *sparser) optional(words ...string) bool {
	n := p.peek()
	if n == nil {
		return false
	}
	for _, w := range words {
		if n.is(w) {
			p.i++
			return true
		}
	}
	return false
}

func (p *sparser) expect(w string) {
	if !p.optional(w) {
		p.r.failSyntax(p.peek())
	}
}

func (p *sparser) done() {
	if n := p.peek(); n != nil {
		p.r.failSyntax(n)
	}
}

// name reads an identifier.
func (p *sparser) name() string {
	n := p.next()
	if !(n.isKind(kWord) || n.isKind(kQIdent)) {
		p.r.failSyntax(n)
	}
	return n.tok.val
}

// objectName reads a possibly qualified name.
func (p *sparser) objectName() ObjectName {
	var parts []string
	for {
		parts = append(parts, p.name())
		if n := p.peek(); n == nil || !n.isKind(kDot) {
			break
		}
		p.i++
	}
	if len(parts) > 3 {
		p.r.failSyntax(p.seq[p.i-1])
	}
	if len(parts) == 1 {
		return ObjectName{Name: parts[0]}
	}
	return ObjectName{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}
}

// varName reads a configuration parameter name (possibly dotted).
func (p *sparser) varName() string {
	var parts []string
	for {
		n := p.next()
		if !(n.isKind(kWord) || n.isKind(kQIdent)) {
			p.r.failSyntax(n)
		}
		parts = append(parts, strings.ToLower(n.tok.val))
		if m := p.peek(); m == nil || !m.isKind(kDot) {
			break
		}
		p.i++
	}
	return strings.Join(parts, ".")
}

// chain handles AND [NO] CHAIN after COMMIT/ROLLBACK.
func (p *sparser) chain() {
	if !p.optional("and") {
		return
	}
	if p.optional("no") {
		p.expect("chain")
		return
	}
	n := p.peek()
	if n != nil && n.is("chain") {
		p.r.fail(errorf(p.r.src, n.tok.pos, sqlerr.FeatureNotSupported, "AND CHAIN is not supported"))
	}
	p.r.failSyntax(n)
}

// txnModes reads transaction modes.
func (p *sparser) txnModes(m *TxnModes) {
	for p.i < len(p.seq) {
		seq := p.seq
		i := p.i
		switch {
		case hasWords(seq, i, "isolation", "level"):
			p.i += 2
			switch {
			case p.optional("serializable"):
				m.Isolation = "serializable"
			case hasWords(seq, p.i, "repeatable", "read"):
				m.Isolation, p.i = "repeatable read", p.i+2
			case hasWords(seq, p.i, "read", "committed"):
				m.Isolation, p.i = "read committed", p.i+2
			case hasWords(seq, p.i, "read", "uncommitted"):
				m.Isolation, p.i = "read uncommitted", p.i+2
			default:
				p.r.failSyntax(p.peek())
			}
		case hasWords(seq, i, "read", "only"):
			m.Access, p.i = ReadOnly, p.i+2
		case hasWords(seq, i, "read", "write"):
			m.Access, p.i = ReadWrite, p.i+2
		case hasWords(seq, i, "not", "deferrable"):
			f := false
			m.Deferrable, p.i = &f, p.i+2
		case hasWords(seq, i, "deferrable"):
			t := true
			m.Deferrable, p.i = &t, p.i+1
		case hasWords(seq, i, "as", "of", "system", "time"), hasWords(seq, i, "as", "of", "timestamp"):
			// TiDB's START TRANSACTION READ ONLY AS OF TIMESTAMP too.
			skip := 4
			if seq[i+2].is("timestamp") {
				skip = 3
			}
			at := seq[i].tok.pos
			e := &eparser{r: p.r, seq: seq, i: i + skip}
			if e.parse(0) == nil {
				p.r.failSyntax(nodeAt(seq, i+skip))
			}
			end := p.r.end
			if e.i < len(seq) {
				end = seq[e.i].tok
			}
			m.AsOf = p.r.fragment(at, "SELECT", seq[i+skip:e.i], p.toks, end, false)
			p.i = e.i
		case seq[i].isKind(kComma) && i > 1:
			p.i++
		default:
			p.r.failSyntax(seq[i])
		}
	}
}

// set parses the statements that start with SET.
func (p *sparser) set(s *SessionStmt) {
	r := p.r
	s.Kind, s.tag = Set, "SET"
	notSupported := func(n *node, what string) {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	switch {
	case hasWords(p.seq, p.i, "session", "characteristics", "as", "transaction"):
		p.i += 4
		s.Kind, s.SessionDefault = SetTransaction, true
		p.txnModes(&s.Txn)
		return
	case p.optional("local"):
		s.Local = true
	case hasWords(p.seq, p.i, "session", "authorization"):
		notSupported(p.seq[p.i], "SET SESSION AUTHORIZATION")
	case p.optional("session"):
	}
	n := p.peek()
	switch {
	case n == nil:
		r.failSyntax(nil)
	case n.is("transaction"):
		p.i++
		if p.optional("snapshot") {
			notSupported(n, "SET TRANSACTION SNAPSHOT")
		}
		s.Kind = SetTransaction
		p.txnModes(&s.Txn)
		return
	case n.is("role"), n.is("constraints"):
		notSupported(n, "SET "+strings.ToUpper(n.tok.val))
	case hasWords(p.seq, p.i, "time", "zone"):
		p.i += 2
		s.Name = "timezone"
		v := p.peek()
		switch {
		case v == nil:
			r.failSyntax(nil)
		case v.is("local") || v.is("default"):
			p.i++
			s.Default = true
		case v.is("interval"):
			notSupported(v, "SET TIME ZONE INTERVAL")
		default:
			s.Values = append(s.Values, p.setValue())
		}
		return
	case n.is("names"):
		p.i++
		s.Name = "client_encoding"
	case n.is("schema"):
		p.i++
		s.Name = "search_path"
	default:
		s.Name = p.varName()
		if !p.optional("to") {
			if m := p.peek(); m != nil && m.isOp("=") {
				p.i++
			} else {
				if m != nil && m.is("from") {
					notSupported(m, "SET ... FROM CURRENT")
				}
				r.failSyntax(m)
			}
		}
	}
	if v := p.peek(); v != nil && v.is("default") {
		p.i++
		s.Default = true
		return
	}
	for {
		s.Values = append(s.Values, p.setValue())
		if m := p.peek(); m == nil || !m.isKind(kComma) {
			break
		}
		p.i++
	}
}

// setValue reads one value of SET.
func (p *sparser) setValue() string {
	n := p.next()
	switch {
	case n.isKind(kString), n.isKind(kWord), n.isKind(kQIdent):
		return n.tok.val
	case n.isKind(kNumber):
		return p.r.src[n.tok.pos:n.tok.end]
	case n.isOp("-") || n.isOp("+"):
		m := p.next()
		if !m.isKind(kNumber) {
			p.r.failSyntax(m)
		}
		return n.tok.val + p.r.src[m.tok.pos:m.tok.end]
	}
	p.r.failSyntax(n)
	return ""
}

// dropIndex parses DROP INDEX.
func (r *rw) dropIndex(seq []*node) *SessionStmt {
	s := &SessionStmt{Kind: DropIndex, tag: "DROP INDEX"}
	p := &sparser{r: r, seq: seq, i: 2}
	p.optional("concurrently")
	if hasWords(seq, p.i, "if", "exists") {
		s.IfExists = true
		p.i += 2
	}
	for {
		s.Objects = append(s.Objects, p.objectName())
		if n := p.peek(); n == nil || !n.isKind(kComma) {
			break
		}
		p.i++
	}
	switch {
	case p.optional("cascade"):
		s.Cascade = true
	case p.optional("restrict"):
	}
	p.done()
	return s
}

// copyStmt parses COPY table [(cols)] FROM STDIN | TO STDOUT [options] and
// COPY (query) TO STDOUT [options].
func (p *sparser) copyStmt() *CopyStmt {
	r := p.r
	c := &CopyStmt{Options: map[string]string{}}
	n := p.peek()
	if n == nil {
		r.failSyntax(nil)
	}
	if n.isParen() {
		p.i++
		c.Query = r.textOf(n.kids)
	} else {
		c.Table = p.objectName()
		if g := p.peek(); g != nil && g.isParen() {
			p.i++
			for _, item := range splitTop(g.kids) {
				if len(item) != 1 || !(item[0].isKind(kWord) || item[0].isKind(kQIdent)) {
					r.failSyntax(nodeAt(item, 0))
				}
				c.Columns = append(c.Columns, item[0].tok.val)
			}
		}
	}
	dir := p.next()
	switch {
	case dir.is("from"):
		c.From = true
		if c.Query != "" {
			r.failSyntax(dir)
		}
	case dir.is("to"):
	default:
		r.failSyntax(dir)
	}
	where := p.next()
	switch {
	case c.From && where.is("stdin"), !c.From && where.is("stdout"):
	case where.isKind(kString), where.is("program"):
		r.fail(errorf(r.src, where.tok.pos, sqlerr.FeatureNotSupported, "COPY to or from a file is not supported").
			WithHint("Use COPY ... FROM STDIN or COPY ... TO STDOUT."))
	default:
		r.failSyntax(where)
	}
	p.optional("with")
	if g := p.peek(); g != nil && g.isParen() {
		p.i++
		for _, item := range splitTop(g.kids) {
			if len(item) == 0 || !item[0].isKind(kWord) {
				r.failSyntax(g.close.asNode())
			}
			key := item[0].tok.val
			val := "true"
			switch len(item) {
			case 1:
			case 2:
				if item[1].isParen() {
					val = r.textOf(item[1].kids)
				} else {
					val = optionValue(item[1])
				}
			default:
				if g2 := item[1]; g2.isParen() {
					val = r.textOf(g2.kids)
				} else {
					r.failSyntax(item[2])
				}
			}
			if _, dup := c.Options[key]; dup {
				c.Dups = append(c.Dups, key)
			}
			c.Options[key] = val
		}
		return c
	}
	// The pre-9.0 option syntax.
	for p.i < len(p.seq) {
		o := p.next()
		switch {
		case o.is("binary"):
			c.Options["format"] = "binary"
		case o.is("csv"):
			c.Options["format"] = "csv"
		case o.is("header"):
			c.Options["header"] = "true"
		case o.is("freeze"):
			c.Options["freeze"] = "true"
		case o.is("delimiter"), o.is("null"), o.is("quote"), o.is("escape"):
			p.optional("as")
			v := p.next()
			if !v.isKind(kString) {
				r.failSyntax(v)
			}
			c.Options[o.tok.val] = v.tok.val
		case o.is("force"):
			rest := p.seq[p.i:]
			c.Options["force"] = r.textOf(rest)
			p.i = len(p.seq)
		default:
			r.failSyntax(o)
		}
	}
	return c
}

func optionValue(n *node) string {
	switch {
	case n.isKind(kWord):
		return strings.ToLower(n.tok.val)
	case n.isKind(kString), n.isKind(kQIdent):
		return n.tok.val
	case n.isKind(kNumber):
		return n.tok.val
	case n.isOp("*"):
		return "*"
	}
	return n.tok.val
}

// textOf returns the original text spanned by ns.
func (r *rw) textOf(ns []*node) string {
	if len(ns) == 0 {
		return ""
	}
	start := ns[0].tok.pos
	last := ns[len(ns)-1]
	end := last.tok.end
	if last.group {
		end = last.close.end
	}
	if end < start {
		return ""
	}
	return r.src[start:end]
}
