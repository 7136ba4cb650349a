package sql

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

var quotedName = regexp.MustCompile(`"([^"]+)"`)

// addPosition gives "relation/column does not exist" errors the position
// PostgreSQL reports: the first whole-word occurrence of the name in the
// statement text (1-based, in characters).
func addPosition(err error, sql string) error {
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Position != 0 {
		return err
	}
	if e.Code != sqlerr.UndefinedTable && e.Code != sqlerr.UndefinedColumn && e.Code != sqlerr.AmbiguousColumn {
		return err
	}
	m := quotedName.FindStringSubmatch(e.Message)
	if m == nil {
		return err
	}
	name := m[1]
	if i := strings.LastIndexByte(name, '.'); i >= 0 && e.Code != sqlerr.UndefinedTable {
		name = name[i+1:]
	}
	lower := strings.ToLower(sql)
	target := strings.ToLower(name)
	for from := 0; from < len(lower); {
		i := strings.Index(lower[from:], target)
		if i < 0 {
			break
		}
		i += from
		end := i + len(target)
		if (i == 0 || !isIdentByte(lower[i-1])) && (end >= len(lower) || !isIdentByte(lower[end])) {
			return e.WithPosition(utf8.RuneCountInString(sql[:i]) + 1)
		}
		from = end
	}
	return err
}

func isIdentByte(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b >= 0x80
}
