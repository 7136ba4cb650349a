package pgdialect

import (
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// typeNames maps PostgreSQL type names (and aliases) to the normalized text
// Outpost uses for them, PostgreSQL's canonical spelling where it has one.
var typeNames = map[string]string{
	"int2": "smallint", "smallint": "smallint",
	"int": "integer", "int4": "integer", "integer": "integer",
	"int8": "bigint", "bigint": "bigint",
	"serial2": "smallserial", "smallserial": "smallserial",
	"serial4": "serial", "serial": "serial",
	"serial8": "bigserial", "bigserial": "bigserial",
	"float4": "real", "real": "real",
	"float8": "double precision", "double precision": "double precision",
	"float":   "float", // resolved by its precision
	"numeric": "numeric", "decimal": "numeric", "dec": "numeric",
	"bool": "boolean", "boolean": "boolean",
	"text":    "text",
	"varchar": "varchar", "character varying": "varchar", "char varying": "varchar",
	"national character varying": "varchar", "national char varying": "varchar", "nchar varying": "varchar",
	"char": "char", "character": "char", "nchar": "char", "national character": "char", "national char": "char",
	"bpchar": "bpchar",
	"bytea":  "bytea", "uuid": "uuid", "json": "json", "jsonb": "jsonb", "date": "date",
	"time": "time", "time without time zone": "time",
	"timetz": "time with time zone", "time with time zone": "time with time zone",
	"timestamp": "timestamp", "timestamp without time zone": "timestamp",
	"timestamptz": "timestamp with time zone", "timestamp with time zone": "timestamp with time zone",
	"interval": "interval",
	"bit":      "bit", "varbit": "bit varying", "bit varying": "bit varying",
	"money": "money", "inet": "inet", "cidr": "cidr", "macaddr": "macaddr", "macaddr8": "macaddr8",
	"oid": "oid", "regclass": "regclass", "regtype": "regtype", "regproc": "regproc",
	"regprocedure": "regprocedure", "regnamespace": "regnamespace", "regrole": "regrole",
	"name": "name", "xml": "xml", "tsvector": "tsvector", "tsquery": "tsquery",
	"point": "point", "line": "line", "lseg": "lseg", "box": "box", "path": "path",
	"polygon": "polygon", "circle": "circle", "pg_lsn": "pg_lsn", "txid_snapshot": "txid_snapshot",
	"int4range": "int4range", "int8range": "int8range", "numrange": "numrange",
	"tsrange": "tsrange", "tstzrange": "tstzrange", "daterange": "daterange",
	"record": "record", "void": "void", "unknown": "unknown",
}

// typeStarts are the first words of multi-word type names.
var typeStarts = map[string]bool{
	"double": true, "national": true, "character": true, "char": true, "nchar": true,
	"bit": true, "time": true, "timestamp": true, "interval": true,
}

// isTypeStart reports whether w may begin a known type name.
func isTypeStart(w string) bool {
	_, ok := typeNames[w]
	return ok || typeStarts[w]
}

// intervalFieldWords are the field qualifiers of INTERVAL.
var intervalFieldWords = map[string]bool{
	"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true,
}

// intervalFields reads an INTERVAL field qualifier (day, day to second,
// second(3), ...) at seq[i].
func intervalFields(seq []*node, i int) (string, int) {
	if i >= len(seq) || !seq[i].isKind(kWord) || !intervalFieldWords[seq[i].tok.val] {
		return "", i
	}
	f := seq[i].tok.val
	j := i + 1
	if j+1 < len(seq) && seq[j].is("to") && seq[j+1].isKind(kWord) && intervalFieldWords[seq[j+1].tok.val] {
		f += " to " + seq[j+1].tok.val
		j += 2
	}
	if f == "second" || strings.HasSuffix(f, " second") {
		if j < len(seq) && seq[j].isParen() {
			if args, ok := typeArgs(seq[j]); ok && len(args) == 1 {
				f += "(" + args[0] + ")"
				j++
			}
		}
	}
	return f, j
}

// typeArgs reads a (n[, m]) type modifier list.
func typeArgs(g *node) ([]string, bool) {
	var out []string
	for _, item := range splitTop(g.kids) {
		if len(item) == 1 && item[0].isKind(kNumber) && item[0].tok.isInt {
			out = append(out, item[0].tok.val)
			continue
		}
		if len(item) == 2 && item[0].isOp("-") && item[1].isKind(kNumber) && item[1].tok.isInt {
			out = append(out, "-"+item[1].tok.val)
			continue
		}
		return nil, false
	}
	return out, len(out) > 0
}

// parseType reads a PostgreSQL type name at seq[i] and returns its
// normalized text and the index after it. With probe set it only accepts
// known built-in type names and never fails: it returns i when there is no
// type; otherwise a malformed type is an error.
func (r *rw) parseType(seq []*node, i int, probe bool) (string, int) {
	fail := func(at int) (string, int) {
		if probe {
			return "", i
		}
		r.failSyntax(nodeAt(seq, at))
		return "", i
	}
	if i >= len(seq) {
		return fail(i)
	}
	j := i
	var name string
	quotedName := false
	// Optional pg_catalog. or schema. qualification.
	n := seq[j]
	simple := func(n *node) (string, bool) {
		switch {
		case n.isKind(kWord):
			return n.tok.val, true
		case n.isKind(kQIdent):
			return n.tok.val, true
		}
		return "", false
	}
	first, ok := simple(n)
	if !ok || n.isKind(kWord) && pgReserved[first] && typeNames[first] == "" {
		return fail(j)
	}
	j++
	if j+1 < len(seq) && seq[j].isKind(kDot) {
		second, ok := simple(seq[j+1])
		if !ok {
			return fail(j + 1)
		}
		if first != "pg_catalog" {
			if probe {
				return "", i
			}
			name = identText(seq[i]) + "." + identText(seq[j+1])
			quotedName = true
		} else {
			n = seq[j+1]
			first = second
		}
		j += 2
	}
	if n.isKind(kQIdent) && !quotedName {
		if !isPlainName(n.tok.val) {
			if probe {
				return "", i
			}
			name = identText(n)
			quotedName = true
		}
	}
	if !quotedName {
		name = first
		words := func(ws ...string) bool { return hasWords(seq, j, ws...) }
		switch first {
		case "double":
			if !words("precision") {
				return fail(j)
			}
			name, j = "double precision", j+1
		case "national":
			switch {
			case words("character", "varying"), words("char", "varying"):
				name, j = "national character varying", j+2
			case words("character"), words("char"):
				name, j = "national character", j+1
			default:
				return fail(j)
			}
		case "character", "char", "nchar":
			if words("varying") {
				name, j = first+" varying", j+1
			}
		case "bit":
			if words("varying") {
				name, j = "bit varying", j+1
			}
		}
	}
	canon, known := typeNames[name]
	if !known {
		if probe {
			return "", i
		}
		if quotedName {
			canon = name
		} else {
			canon = identText(seq[i])
		}
	}
	// Modifiers.
	var args []string
	if j < len(seq) && seq[j].isParen() && canon != "interval" {
		a, ok := typeArgs(seq[j])
		if !ok {
			return fail(j)
		}
		args = a
		j++
	}
	text := canon
	switch canon {
	case "float":
		text = "double precision"
		if len(args) == 1 {
			p, _ := strconv.Atoi(args[0])
			switch {
			case p < 1:
				r.fail(errorf(r.src, seq[i].tok.pos, sqlerr.InvalidParameterValue, "precision for type float must be at least 1 bit"))
			case p <= 24:
				text = "real"
			case p <= 53:
			default:
				r.fail(errorf(r.src, seq[i].tok.pos, sqlerr.InvalidParameterValue, "precision for type float must be less than 54 bits"))
			}
		}
		args = nil
	case "char", "bit":
		if len(args) == 0 {
			args = []string{"1"}
		}
	case "time", "timestamp":
		if hasWords(seq, j, "with", "time", "zone") {
			text += " with time zone"
			j += 3
		} else if hasWords(seq, j, "without", "time", "zone") {
			j += 3
		}
	case "interval":
		if f, k := intervalFields(seq, j); k > j {
			text += " " + f
			j = k
		} else if j < len(seq) && seq[j].isParen() {
			a, ok := typeArgs(seq[j])
			if !ok || len(a) != 1 {
				return fail(j)
			}
			text += "(" + a[0] + ")"
			j++
		}
	}
	if len(args) > 0 {
		mod := "(" + strings.Join(args, ",") + ")"
		if strings.HasSuffix(text, " with time zone") {
			text = strings.TrimSuffix(text, " with time zone") + mod + " with time zone"
		} else {
			text += mod
		}
	}
	if j < len(seq) && seq[j].isBracket() && len(seq[j].kids) == 0 {
		// type[]: an array type (see arrays.go).
		text += "[]"
		j++
	} else if j < len(seq) && seq[j].is("array") {
		if probe {
			return "", i
		}
		r.fail(errorf(r.src, seq[j].tok.pos, sqlerr.FeatureNotSupported, "arrays are not supported"))
	}
	return text, j
}

// isPlainName reports whether s is a name PostgreSQL would fold to itself.
func isPlainName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}

// identText renders a name token as PostgreSQL would print it.
func identText(n *node) string {
	if n.isKind(kQIdent) && !isPlainName(n.tok.val) {
		return quoteIdent(n.tok.val)
	}
	return n.tok.val
}
