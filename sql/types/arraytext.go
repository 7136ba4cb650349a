package types

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Outpost has no array type yet. The few array values clients meet (in
// catalog queries: ARRAY(subquery), pg_index.indkey, x = ANY(col)) are
// carried as text in PostgreSQL's array text form, one-dimensional:
// {a,"b c",NULL}. These helpers read and write that form.

// ParseArrayText parses a one-dimensional array literal; nil elements are
// NULLs. The space-separated text form of int2vector and oidvector ("1 2")
// is read as the vector it is. A malformed literal is 22P02.
func ParseArrayText(s string) ([]*string, error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && isVectorText(t) {
		var out []*string
		for _, f := range strings.Fields(t) {
			f := f
			out = append(out, &f)
		}
		return out, nil
	}
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed array literal: \"%s\"", s).
			WithDetail("Array value must start with \"{\" or dimension information.")
	}
	body := t[1 : len(t)-1]
	var out []*string
	if strings.TrimSpace(body) == "" {
		return out, nil
	}
	var cur strings.Builder
	quoted, inQuote := false, false
	flush := func() {
		v := cur.String()
		if !quoted {
			v = strings.TrimSpace(v)
		}
		if !quoted && strings.EqualFold(v, "null") {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			cur.WriteByte(body[i])
		case c == '"':
			inQuote = !inQuote
			quoted = true
		case c == '{' && !inQuote:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported")
		case c == ',' && !inQuote:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed array literal: \"%s\"", s)
	}
	flush()
	return out, nil
}

// FormatArrayText writes elements in array text form, quoting as
// PostgreSQL's array_out does.
func FormatArrayText(elems []*string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			b.WriteString("NULL")
			continue
		}
		v := *e
		if needsArrayQuote(v) {
			b.WriteByte('"')
			for j := 0; j < len(v); j++ {
				if v[j] == '"' || v[j] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(v[j])
			}
			b.WriteByte('"')
			continue
		}
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String()
}

func needsArrayQuote(v string) bool {
	if v == "" || strings.EqualFold(v, "null") {
		return true
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}

// isVectorText reports whether s is an int2vector/oidvector text form:
// unsigned integers separated by spaces (or empty).
func isVectorText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
