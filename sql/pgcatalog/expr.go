package pgcatalog

import (
	"strings"

	"github.com/outpostdb/outpost/sql/types"
)

// Defaults and CHECK expressions are stored as the SQL text the parser
// restores (keywords upper case, function names as written, PostgreSQL
// casts as outpost_cast(x, 'type')). formatExpr prints them the way
// pg_get_expr does for the common shapes: lower-case function names,
// casts as x::type, nextval('s') as nextval('s'::regclass), and a string
// literal default typed with its column's type ('x'::character varying).

// formatDefault is pg_get_expr(adbin) of a column default.
func formatDefault(def string, t *types.T) string {
	e := formatExpr(def)
	if isStringLiteral(e) {
		return e + "::" + t.WithoutModifiers().SQLString()
	}
	return e
}

func isStringLiteral(s string) bool {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return false
	}
	inner := s[1 : len(s)-1]
	return !strings.Contains(strings.ReplaceAll(inner, "''", ""), "'")
}

// formatExpr rewrites a restored expression into PostgreSQL's spelling.
func formatExpr(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(s) {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(s[i : j+1])
			i = j + 1
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(quoteIdent(s[i+1 : i+1+j]))
			i += j + 2
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := s[i:j]
			if j < len(s) && s[j] == '(' {
				lw := strings.ToLower(word)
				args, end := splitArgs(s, j)
				switch {
				case lw == "outpost_cast" && len(args) == 2:
					t := strings.Trim(strings.TrimSpace(args[1]), "'")
					b.WriteString(formatExpr(strings.TrimSpace(args[0])) + "::" + castTypeName(t))
				case len(args) == 0 && sqlValueFuncs[lw]:
					// SQL-standard value functions print without parentheses.
					b.WriteString(strings.ToUpper(lw))
				case lw == "nextval" && len(args) == 1 && isStringLiteral(strings.TrimSpace(args[0])):
					b.WriteString("nextval(" + strings.TrimSpace(args[0]) + "::regclass)")
				default:
					parts := make([]string, len(args))
					for k, a := range args {
						parts[k] = formatExpr(strings.TrimSpace(a))
					}
					b.WriteString(lw + "(" + strings.Join(parts, ", ") + ")")
				}
				i = end
				continue
			}
			switch lw := strings.ToLower(word); lw {
			case "true", "false", "null":
				word = lw // pg_get_expr prints these constants in lower case
			}
			b.WriteString(word)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func castTypeName(t string) string {
	if pt, err := types.ParseTypeName(t); err == nil {
		return pt.SQLString()
	}
	return t
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// splitArgs splits the parenthesized argument list starting at s[open]
// at top-level commas; end is the index after the closing parenthesis.
func splitArgs(s string, open int) (args []string, end int) {
	depth := 0
	start := open + 1
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'':
			for i++; i < len(s) && s[i] != '\''; i++ {
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				if strings.TrimSpace(s[start:i]) != "" || len(args) > 0 {
					args = append(args, s[start:i])
				}
				return args, i + 1
			}
		case ',':
			if depth == 1 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
	}
	return append(args, s[start:]), len(s)
}

var sqlValueFuncs = map[string]bool{
	"current_timestamp": true, "current_date": true, "current_time": true, "localtimestamp": true,
	"localtime": true, "current_user": true, "session_user": true, "current_role": true,
}
