package pgdialect

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Role and privilege statement kinds (SessionStmt.Kind). They are
// numbered apart from the other session kinds.
const (
	// CreateRole is CREATE ROLE|USER|GROUP name [[WITH] option ...].
	CreateRole SessionKind = 64 + iota
	// AlterRole is ALTER ROLE|USER name [WITH] option ... or ALTER ROLE
	// name RENAME TO new.
	AlterRole
	// DropRole is DROP ROLE|USER|GROUP [IF EXISTS] name[, ...].
	DropRole
	// Grant is GRANT privileges ON [TABLE|DATABASE] objects TO roles.
	Grant
	// Revoke is REVOKE privileges ON [TABLE|DATABASE] objects FROM roles.
	Revoke
	// AlterOwner is ALTER TABLE|SEQUENCE|DATABASE name OWNER TO role.
	AlterOwner
	// ReassignOwned is REASSIGN OWNED BY roles TO role.
	ReassignOwned
	// DropOwned is DROP OWNED BY roles [CASCADE|RESTRICT].
	DropOwned
)

var roleKindNames = map[SessionKind]string{
	CreateRole: "CreateRole", AlterRole: "AlterRole", DropRole: "DropRole", Grant: "Grant", Revoke: "Revoke",
	AlterOwner: "AlterOwner", ReassignOwned: "ReassignOwned", DropOwned: "DropOwned",
}

// OwnerStmt is a parsed ALTER ... OWNER TO, REASSIGN OWNED or DROP OWNED.
type OwnerStmt struct {
	// Object is "TABLE", "SEQUENCE" or "DATABASE" (AlterOwner).
	Object string
	// Name is the object of AlterOwner; IfExists is ALTER TABLE|SEQUENCE
	// IF EXISTS.
	Name     ObjectName
	IfExists bool
	// From are the roles of REASSIGN/DROP OWNED BY.
	From []RoleSpec
	// To is the new owner (AlterOwner, ReassignOwned).
	To RoleSpec
}

// RoleOption is one option of CREATE/ALTER ROLE. Name is the option in
// lower case with any NO prefix removed ("superuser", "login",
// "password", ...); On is false for the NO forms.
type RoleOption struct {
	Name string
	On   bool
	// Value is the text of VALID UNTIL's string and CONNECTION LIMIT's
	// number (Name "valid until", "connection limit").
	Value string
	// Password is PASSWORD's string; PasswordNull is PASSWORD NULL.
	Password     string
	PasswordNull bool
}

// RoleSpec names a role in GRANT/REVOKE and ALTER/DROP ROLE. Public is
// PUBLIC (unquoted); Current is CURRENT_USER, CURRENT_ROLE or
// SESSION_USER (the name says which).
type RoleSpec struct {
	Name    string
	Public  bool
	Current bool
}

// RoleStmt is a parsed CREATE, ALTER or DROP ROLE.
type RoleStmt struct {
	// Roles: one for CREATE and ALTER, one or more for DROP.
	Roles []RoleSpec
	// User is CREATE USER (LOGIN unless NOLOGIN is given).
	User bool
	// IfExists is DROP ... IF EXISTS; IfNotExists is CREATE ... IF NOT
	// EXISTS (an Outpost extension, as in CockroachDB).
	IfExists, IfNotExists bool
	Options               []RoleOption
	// RenameTo is ALTER ROLE ... RENAME TO.
	RenameTo string
}

// GrantStmt is a parsed GRANT or REVOKE of object privileges.
type GrantStmt struct {
	// Privileges are upper-case names (SELECT, CONNECT, TEMP...); nil
	// means ALL [PRIVILEGES].
	Privileges []string
	// Object is "TABLE", "SEQUENCE", "DATABASE" or "SCHEMA".
	Object  string
	Targets []ObjectName
	// InSchemas are the schemas of ON ALL TABLES|SEQUENCES IN SCHEMA
	// (Targets is empty then).
	InSchemas []string
	Roles     []RoleSpec
	// Cascade is REVOKE ... CASCADE.
	Cascade bool
}

var roleOptionWords = wordSet(`superuser createdb createrole inherit login replication bypassrls`)

// roleStmt parses the role and privilege statements, or returns nil.
func (r *rw) roleStmt(seq []*node) *SessionStmt {
	head := seq[0]
	if s := r.ownerStmt(seq); s != nil {
		return s
	}
	switch {
	case head.is("grant"), head.is("revoke"):
		return r.grantStmt(seq)
	case hasWords(seq, 0, "create", "role"), hasWords(seq, 0, "create", "user"), hasWords(seq, 0, "create", "group"):
		if hasWords(seq, 1, "user", "mapping") {
			return nil
		}
		return r.createRole(seq)
	case hasWords(seq, 0, "alter", "role"), hasWords(seq, 0, "alter", "user"), hasWords(seq, 0, "alter", "group"):
		if hasWords(seq, 1, "user", "mapping") {
			return nil
		}
		return r.alterRole(seq)
	case hasWords(seq, 0, "drop", "role"), hasWords(seq, 0, "drop", "user"), hasWords(seq, 0, "drop", "group"):
		if hasWords(seq, 1, "user", "mapping") {
			return nil
		}
		s := &SessionStmt{Kind: DropRole, tag: "DROP ROLE", Role: &RoleStmt{}}
		p := &sparser{r: r, seq: seq, i: 2}
		if hasWords(seq, 2, "if", "exists") {
			s.Role.IfExists = true
			p.i += 2
		}
		s.Role.Roles = p.roleList()
		p.done()
		return s
	}
	return nil
}

func (r *rw) createRole(seq []*node) *SessionStmt {
	s := &SessionStmt{Kind: CreateRole, tag: "CREATE ROLE", Role: &RoleStmt{}}
	p := &sparser{r: r, seq: seq, i: 2}
	if seq[1].is("group") {
		r.fail(errorf(r.src, seq[1].tok.pos, sqlerr.FeatureNotSupported, "CREATE GROUP is not supported"))
	}
	s.Role.User = seq[1].is("user")
	if hasWords(seq, 2, "if", "not", "exists") {
		s.Role.IfNotExists = true
		p.i += 3
	}
	s.Role.Roles = []RoleSpec{{Name: p.name()}}
	p.optional("with")
	s.Role.Options = p.roleOptions()
	p.done()
	return s
}

func (r *rw) alterRole(seq []*node) *SessionStmt {
	s := &SessionStmt{Kind: AlterRole, tag: "ALTER ROLE", Role: &RoleStmt{}}
	p := &sparser{r: r, seq: seq, i: 2}
	if seq[1].is("group") {
		r.fail(errorf(r.src, seq[1].tok.pos, sqlerr.FeatureNotSupported, "ALTER GROUP is not supported"))
	}
	if n := p.peek(); n != nil && n.is("all") {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "ALTER ROLE ALL is not supported"))
	}
	s.Role.Roles = []RoleSpec{p.roleSpec()}
	switch {
	case hasWords(seq, p.i, "rename", "to"):
		p.i += 2
		s.Role.RenameTo = p.name()
	case hasWords(seq, p.i, "set"), hasWords(seq, p.i, "reset"), hasWords(seq, p.i, "in", "database"):
		n := seq[p.i]
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "per-role settings (ALTER ROLE ... SET) are not supported"))
	default:
		p.optional("with")
		s.Role.Options = p.roleOptions()
		if len(s.Role.Options) == 0 {
			r.failSyntax(p.peek())
		}
	}
	p.done()
	return s
}

// roleOptions reads CREATE/ALTER ROLE options. A repeated option fails
// with 42601 "conflicting or redundant options" at the repetition, as
// PostgreSQL does.
func (p *sparser) roleOptions() []RoleOption {
	r := p.r
	var out []RoleOption
	seen := map[string]bool{}
	for p.i < len(p.seq) {
		n := p.next()
		if !n.isKind(kWord) {
			r.failSyntax(n)
		}
		w := n.tok.val
		var o RoleOption
		switch {
		case roleOptionWords[w]:
			o = RoleOption{Name: w, On: true}
		case strings.HasPrefix(w, "no") && roleOptionWords[w[2:]]:
			o = RoleOption{Name: w[2:]}
		case w == "encrypted" || w == "password":
			if w == "encrypted" {
				p.expect("password")
			}
			o.Name = "password"
			v := p.next()
			switch {
			case v.isKind(kString):
				o.Password = v.tok.val
			case v.is("null") && w == "password":
				o.PasswordNull = true
			default:
				r.failSyntax(v)
			}
		case w == "unencrypted":
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "UNENCRYPTED PASSWORD is no longer supported").
				WithHint("Remove UNENCRYPTED to store the password in encrypted form instead."))
		case w == "valid":
			p.expect("until")
			v := p.next()
			if !v.isKind(kString) {
				r.failSyntax(v)
			}
			o = RoleOption{Name: "valid until", Value: v.tok.val}
		case w == "connection":
			p.expect("limit")
			v := p.next()
			sign := ""
			if v.isOp("-") {
				sign, v = "-", p.next()
			}
			if !v.isKind(kNumber) {
				r.failSyntax(v)
			}
			o = RoleOption{Name: "connection limit", Value: sign + v.tok.val}
		case w == "in", w == "role", w == "admin", w == "user", w == "sysid":
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "role option %s is not supported", strings.ToUpper(w)))
		default:
			r.failSyntax(n)
		}
		if seen[o.Name] {
			r.fail(errorf(r.src, n.tok.pos, sqlerr.SyntaxError, "conflicting or redundant options"))
		}
		seen[o.Name] = true
		out = append(out, o)
	}
	return out
}

// roleSpec reads a role name, PUBLIC, CURRENT_USER, CURRENT_ROLE or
// SESSION_USER.
func (p *sparser) roleSpec() RoleSpec {
	n := p.next()
	switch {
	case n.isKind(kQIdent) && n.tok.val == "public":
		// PostgreSQL's grammar takes "public" quoted as PUBLIC too.
		return RoleSpec{Name: "public", Public: true}
	case n.isKind(kQIdent):
		return RoleSpec{Name: n.tok.val}
	case !n.isKind(kWord):
		p.r.failSyntax(n)
	case n.is("public"):
		return RoleSpec{Name: "public", Public: true}
	case n.is("current_user"), n.is("current_role"), n.is("session_user"):
		return RoleSpec{Name: n.tok.val, Current: true}
	}
	return RoleSpec{Name: n.tok.val}
}

func (p *sparser) roleList() []RoleSpec {
	var out []RoleSpec
	for {
		out = append(out, p.roleSpec())
		if n := p.peek(); n == nil || !n.isKind(kComma) {
			return out
		}
		p.i++
	}
}

var tablePrivWords = wordSet(`select insert update delete truncate references trigger connect create temporary temp usage`)

// grantStmt parses GRANT and REVOKE of privileges on tables and databases.
func (r *rw) grantStmt(seq []*node) *SessionStmt {
	s := &SessionStmt{Kind: Grant, tag: "GRANT", Grant: &GrantStmt{}}
	g := s.Grant
	p := &sparser{r: r, seq: seq, i: 1}
	revoke := seq[0].is("revoke")
	if revoke {
		s.Kind, s.tag = Revoke, "REVOKE"
		if hasWords(seq, 1, "grant", "option", "for") {
			r.fail(errorf(r.src, seq[1].tok.pos, sqlerr.FeatureNotSupported, "grant options are not supported"))
		}
	}
	if on := indexWord(seq, 1, "on"); on < 0 {
		r.fail(errorf(r.src, seq[0].tok.pos, sqlerr.FeatureNotSupported, "role membership (GRANT/REVOKE role) is not supported"))
	}
	if p.optional("all") {
		p.optional("privileges")
		if n := p.peek(); n != nil && n.isParen() {
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "column privileges are not supported"))
		}
	} else {
		for {
			n := p.next()
			if !n.isKind(kWord) || !tablePrivWords[n.tok.val] {
				r.failSyntax(n)
			}
			g.Privileges = append(g.Privileges, strings.ToUpper(n.tok.val))
			if m := p.peek(); m != nil && m.isParen() {
				r.fail(errorf(r.src, m.tok.pos, sqlerr.FeatureNotSupported, "column privileges are not supported"))
			}
			if m := p.peek(); m == nil || !m.isKind(kComma) {
				break
			}
			p.i++
		}
	}
	p.expect("on")
	g.Object = "TABLE"
	switch n := p.peek(); {
	case n == nil:
		r.failSyntax(nil)
	case n.is("table"):
		p.i++
	case n.is("database"):
		p.i++
		g.Object = "DATABASE"
	case n.is("sequence"):
		p.i++
		g.Object = "SEQUENCE"
	case n.is("schema"):
		p.i++
		g.Object = "SCHEMA"
	case hasWords(seq, p.i, "all", "tables", "in", "schema"), hasWords(seq, p.i, "all", "sequences", "in", "schema"):
		if seq[p.i+1].is("sequences") {
			g.Object = "SEQUENCE"
		}
		p.i += 4
		for {
			g.InSchemas = append(g.InSchemas, p.name())
			if m := p.peek(); m == nil || !m.isKind(kComma) {
				break
			}
			p.i++
		}
	case n.is("all"), n.is("function"), n.is("procedure"), n.is("routine"),
		n.is("language"), n.is("type"), n.is("domain"), n.is("foreign"), n.is("large"), n.is("tablespace"), n.is("parameter"):
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "GRANT/REVOKE ON %s is not supported", strings.ToUpper(n.tok.val)))
	}
	for g.InSchemas == nil {
		if g.Object == "DATABASE" || g.Object == "SCHEMA" {
			g.Targets = append(g.Targets, ObjectName{Name: p.name()})
		} else {
			g.Targets = append(g.Targets, p.objectName())
		}
		if n := p.peek(); n == nil || !n.isKind(kComma) {
			break
		}
		p.i++
	}
	if revoke {
		p.expect("from")
	} else {
		p.expect("to")
	}
	g.Roles = p.roleList()
	switch {
	case !revoke && hasWords(seq, p.i, "with", "grant", "option"):
		r.fail(errorf(r.src, seq[p.i].tok.pos, sqlerr.FeatureNotSupported, "WITH GRANT OPTION is not supported"))
	case hasWords(seq, p.i, "granted", "by"):
		r.fail(errorf(r.src, seq[p.i].tok.pos, sqlerr.FeatureNotSupported, "GRANTED BY is not supported"))
	case revoke && p.optional("cascade"):
		g.Cascade = true
	case revoke && p.optional("restrict"):
	}
	p.done()
	return s
}

// ownerStmt parses ALTER TABLE|SEQUENCE|DATABASE ... OWNER TO, REASSIGN
// OWNED and DROP OWNED, or returns nil.
func (r *rw) ownerStmt(seq []*node) *SessionStmt {
	n := len(seq)
	switch {
	case hasWords(seq, 0, "reassign", "owned", "by"):
		s := &SessionStmt{Kind: ReassignOwned, tag: "REASSIGN OWNED", Owner: &OwnerStmt{}}
		p := &sparser{r: r, seq: seq, i: 3}
		s.Owner.From = p.roleList()
		p.expect("to")
		s.Owner.To = p.roleSpec()
		p.done()
		return s
	case hasWords(seq, 0, "drop", "owned", "by"):
		s := &SessionStmt{Kind: DropOwned, tag: "DROP OWNED", Owner: &OwnerStmt{}}
		p := &sparser{r: r, seq: seq, i: 3}
		s.Owner.From = p.roleList()
		if !p.optional("cascade") {
			p.optional("restrict")
		}
		p.done()
		return s
	case n >= 6 && seq[0].is("alter") && hasWords(seq, n-3, "owner", "to") &&
		(seq[1].is("table") || seq[1].is("sequence") || seq[1].is("database")) && isOwnerTarget(seq[2:n-3]):
		obj := strings.ToUpper(seq[1].tok.val)
		s := &SessionStmt{Kind: AlterOwner, tag: "ALTER " + obj, Owner: &OwnerStmt{Object: obj}}
		p := &sparser{r: r, seq: seq[:n-3], i: 2}
		if obj != "DATABASE" {
			if hasWords(seq, 2, "if", "exists") {
				s.Owner.IfExists = true
				p.i += 2
			}
			if obj == "TABLE" {
				p.optional("only")
			}
			s.Owner.Name = p.objectName()
		} else {
			s.Owner.Name = ObjectName{Name: p.name()}
		}
		p.done()
		q := &sparser{r: r, seq: seq, i: n - 1}
		s.Owner.To = q.roleSpec()
		return s
	}
	return nil
}

// isOwnerTarget reports whether seq is "[IF EXISTS] [ONLY] name[.name...]",
// so that ALTER TABLE t RENAME owner TO x stays a rename.
func isOwnerTarget(seq []*node) bool {
	i := 0
	if hasWords(seq, 0, "if", "exists") {
		i = 2
	}
	if hasWords(seq, i, "only") && i+1 < len(seq) {
		i++
	}
	for {
		if i >= len(seq) || !(seq[i].isKind(kWord) || seq[i].isKind(kQIdent)) {
			return false
		}
		i++
		if i == len(seq) {
			return true
		}
		if !seq[i].isKind(kDot) {
			return false
		}
		i++
	}
}
