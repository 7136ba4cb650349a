package copyfmt

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Format is a COPY data format.
type Format uint8

// The formats.
const (
	Text Format = iota
	CSV
	Binary
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case Binary:
		return "binary"
	}
	return "text"
}

// Options are the parsed and validated options of one COPY.
type Options struct {
	Format Format
	// From is COPY FROM (else TO).
	From bool
	// Delimiter separates fields (text: tab, CSV: comma).
	Delimiter byte
	// Null is the string that stands for NULL (text: `\N`, CSV: empty).
	Null string
	// Header: the first line names the columns (skipped on input,
	// written on output). HeaderMatch (input only): it must match the
	// column names.
	Header, HeaderMatch bool
	// Quote and Escape are the CSV quote and escape bytes (both `"` by
	// default; Escape defaults to Quote).
	Quote, Escape byte
	// ForceQuote names the columns always quoted on CSV output;
	// ForceQuoteAll is FORCE_QUOTE *.
	ForceQuote    []string
	ForceQuoteAll bool
	// ForceNotNull names CSV input columns whose unquoted null string is
	// an empty string, not NULL; ForceNull the columns whose quoted null
	// string is NULL too.
	ForceNotNull, ForceNull []string
	// Freeze is accepted and has no effect: rows are visible to other
	// transactions once committed, as always.
	Freeze bool
}

// knownOptions are PostgreSQL 15's COPY options.
var knownOptions = map[string]bool{
	"format": true, "freeze": true, "delimiter": true, "null": true, "header": true,
	"quote": true, "escape": true, "force_quote": true, "force_not_null": true,
	"force_null": true, "encoding": true,
}

// ParseOptions validates the options of a COPY (names lower-cased; values
// as written, "true" for an option given without a value; "force" holds
// the legacy FORCE QUOTE / FORCE NOT NULL clause) and applies the
// defaults, with PostgreSQL's errors. dups names options given twice.
func ParseOptions(opts map[string]string, dups []string, from bool) (*Options, error) {
	if len(dups) > 0 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
	}
	o := &Options{From: from}
	raw := map[string]string{}
	for k, v := range opts {
		raw[k] = v
	}
	if f, ok := raw["force"]; ok {
		delete(raw, "force")
		if err := legacyForce(raw, f); err != nil {
			return nil, err
		}
	}
	for k := range raw {
		if !knownOptions[k] {
			return nil, sqlerr.New(sqlerr.SyntaxError, "option %q not recognized", k)
		}
	}
	if v, ok := raw["format"]; ok {
		switch v {
		case "text":
		case "csv":
			o.Format = CSV
		case "binary":
			o.Format = Binary
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "COPY format %q not recognized", v)
		}
	}
	var err error
	if v, ok := raw["freeze"]; ok {
		if o.Freeze, err = boolOption("freeze", v); err != nil {
			return nil, err
		}
	}
	if v, ok := raw["header"]; ok {
		if strings.EqualFold(v, "match") {
			o.Header, o.HeaderMatch = true, true
		} else if o.Header, err = boolOption("header", v); err != nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "header requires a Boolean value or \"match\"")
		}
	}
	if v, ok := raw["encoding"]; ok {
		switch strings.ToLower(strings.ReplaceAll(v, "-", "")) {
		case "utf8", "unicode":
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "argument to option \"encoding\" must be a valid encoding name")
		}
	}
	for _, name := range []string{"force_quote", "force_not_null", "force_null"} {
		v, ok := raw[name]
		if !ok {
			continue
		}
		if v == "*" && name == "force_quote" {
			o.ForceQuoteAll = true
			continue
		}
		cols, ok := columnList(v)
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "argument to option %q must be a list of column names", name)
		}
		switch name {
		case "force_quote":
			o.ForceQuote = cols
		case "force_not_null":
			o.ForceNotNull = cols
		default:
			o.ForceNull = cols
		}
	}
	csv := o.Format == CSV
	bin := o.Format == Binary
	delim, hasDelim := raw["delimiter"]
	null, hasNull := raw["null"]
	quote, hasQuote := raw["quote"]
	escape, hasEscape := raw["escape"]
	// The checks below follow the order of PostgreSQL's ProcessCopyOptions.
	if bin && hasDelim {
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot specify DELIMITER in BINARY mode")
	}
	if bin && hasNull {
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot specify NULL in BINARY mode")
	}
	o.Delimiter, o.Null, o.Quote = '\t', `\N`, '"'
	if csv {
		o.Delimiter, o.Null = ',', ""
	}
	if hasDelim {
		if len(delim) != 1 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
		}
		o.Delimiter = delim[0]
	}
	if hasNull {
		o.Null = null
	}
	if hasQuote {
		if len(quote) != 1 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote must be a single one-byte character")
		}
		o.Quote = quote[0]
	}
	o.Escape = o.Quote
	if hasEscape {
		if len(escape) != 1 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape must be a single one-byte character")
		}
		o.Escape = escape[0]
	}
	if !bin && (o.Delimiter == '\n' || o.Delimiter == '\r') {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "COPY delimiter cannot be newline or carriage return")
	}
	if strings.ContainsAny(o.Null, "\r\n") {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "COPY null representation cannot use newline or carriage return")
	}
	if o.Format == Text && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, o.Delimiter) >= 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "COPY delimiter cannot be \"%s\"", string(o.Delimiter))
	}
	if bin && o.Header {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot specify HEADER in BINARY mode")
	}
	if !csv && hasQuote {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote available only in CSV mode")
	}
	if csv && o.Delimiter == o.Quote {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "COPY delimiter and quote must be different")
	}
	if !csv && hasEscape {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape available only in CSV mode")
	}
	if !csv && (o.ForceQuoteAll || o.ForceQuote != nil) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force quote available only in CSV mode")
	}
	if (o.ForceQuoteAll || o.ForceQuote != nil) && from {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force quote only available using COPY TO")
	}
	if !csv && o.ForceNotNull != nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null available only in CSV mode")
	}
	if o.ForceNotNull != nil && !from {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null only available using COPY FROM")
	}
	if !csv && o.ForceNull != nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force null available only in CSV mode")
	}
	if o.ForceNull != nil && !from {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force null only available using COPY FROM")
	}
	if !bin && strings.IndexByte(o.Null, o.Delimiter) >= 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY delimiter must not appear in the NULL specification")
	}
	if csv && strings.IndexByte(o.Null, o.Quote) >= 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CSV quote character must not appear in the NULL specification")
	}
	if o.HeaderMatch && !from {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot use \"match\" with HEADER in COPY TO")
	}
	return o, nil
}

// legacyForce parses the pre-9.0 FORCE QUOTE cols|* / FORCE NOT NULL cols
// clause into the modern options.
func legacyForce(raw map[string]string, clause string) error {
	words := strings.Fields(clause)
	lower := func(i int) string {
		if i < len(words) {
			return strings.ToLower(words[i])
		}
		return ""
	}
	var name string
	var rest int
	switch {
	case lower(0) == "quote":
		name, rest = "force_quote", 1
	case lower(0) == "not" && lower(1) == "null":
		name, rest = "force_not_null", 2
	case lower(0) == "null":
		name, rest = "force_null", 1
	default:
		return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near \"FORCE\"")
	}
	if _, dup := raw[name]; dup {
		return sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
	}
	raw[name] = strings.TrimSpace(strings.Join(words[rest:], " "))
	if raw[name] == "" {
		return sqlerr.New(sqlerr.SyntaxError, "syntax error at end of input")
	}
	return nil
}

// columnList splits "a, "B", c" into column names (unquoted names
// folded to lower case, quoted ones kept).
func columnList(v string) ([]string, bool) {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		p := strings.TrimSpace(part)
		switch {
		case p == "":
			return nil, false
		case len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"':
			out = append(out, strings.ReplaceAll(p[1:len(p)-1], `""`, `"`))
		default:
			for i := 0; i < len(p); i++ {
				c := p[i]
				if !(c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80) {
					return nil, false
				}
			}
			out = append(out, strings.ToLower(p))
		}
	}
	return out, true
}

// boolOption parses a Boolean option value as PostgreSQL's defGetBoolean.
func boolOption(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "1", "t", "yes", "y":
		return true, nil
	case "false", "off", "0", "f", "no", "n":
		return false, nil
	}
	return false, sqlerr.New(sqlerr.SyntaxError, "%s requires a Boolean value", name)
}
