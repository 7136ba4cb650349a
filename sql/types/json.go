package types

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// JSONKind is the kind of a JSON value.
type JSONKind uint8

// The JSON kinds, in the order PostgreSQL's jsonb_typeof names them.
const (
	JSONNull JSONKind = iota
	JSONString
	JSONNumber
	JSONBool
	JSONArray
	JSONObject
)

// String returns jsonb_typeof's name of the kind.
func (k JSONKind) String() string {
	switch k {
	case JSONString:
		return "string"
	case JSONNumber:
		return "number"
	case JSONBool:
		return "boolean"
	case JSONArray:
		return "array"
	case JSONObject:
		return "object"
	}
	return "null"
}

// JSONValue is a parsed JSON document in jsonb's logical form.
//
// Invariant: object fields are sorted as jsonb sorts keys (shorter keys
// first, then bytewise) and keys are unique (the last duplicate wins).
// Numbers are numerics and keep their scale ("2.50"). A JSONValue is
// immutable once built.
type JSONValue struct {
	Kind   JSONKind
	Bool   bool
	Str    string
	Num    *DDecimal
	Elems  []JSONValue
	Fields []JSONField
}

// JSONField is one member of a JSON object.
type JSONField struct {
	Key   string
	Value JSONValue
}

// DJSON is a json or jsonb value.
//
// For jsonb, Text() is the canonical form: keys sorted and deduplicated,
// printed with ", " and ": " separators, exactly as PostgreSQL's jsonb
// output. For json, Text() is the input kept verbatim (PostgreSQL's json
// type stores text); Value() is still the normalized document, which the
// JSON operators use (so `->` on a json value returns the member in
// normalized form, not its verbatim text: a known difference).
type DJSON struct {
	value  JSONValue
	text   string
	isJSON bool
}

// ResolvedType implements Datum: JSON or JSONB.
func (d *DJSON) ResolvedType() *T {
	if d.isJSON {
		return JSON
	}
	return JSONB
}

// String returns Text().
func (d *DJSON) String() string { return d.text }

// Text returns the output form (see DJSON).
func (d *DJSON) Text() string { return d.text }

// Value returns the parsed document.
func (d *DJSON) Value() JSONValue { return d.value }

// IsJSON reports whether d is a json (not jsonb) value.
func (d *DJSON) IsJSON() bool { return d.isJSON }

// NewDJSONB returns the jsonb value v; v must satisfy JSONValue's
// invariant (use NormalizeJSON if unsure).
func NewDJSONB(v JSONValue) *DJSON {
	return &DJSON{value: v, text: string(AppendJSON(nil, v))}
}

// NewDJSON returns a json value with the given text, which must be valid
// JSON whose normalized form is v (functions building json output, such as
// json_build_object, produce both).
func NewDJSON(text string, v JSONValue) *DJSON {
	return &DJSON{value: v, text: text, isJSON: true}
}

// ParseJSONB parses jsonb input.
func ParseJSONB(s string) (*DJSON, error) {
	v, err := parseJSON(s, true)
	if err != nil {
		return nil, err
	}
	return NewDJSONB(v), nil
}

// ParseJSON parses json input: the text is validated and kept verbatim.
func ParseJSON(s string) (*DJSON, error) {
	v, err := parseJSON(s, false)
	if err != nil {
		return nil, err
	}
	return &DJSON{value: v, text: s, isJSON: true}, nil
}

// ToJSONB returns d as a jsonb value (a json value is re-validated with
// jsonb's stricter rules on \u escapes).
func (d *DJSON) ToJSONB() (*DJSON, error) {
	if !d.isJSON {
		return d, nil
	}
	return ParseJSONB(d.text)
}

// ToJSON returns d as a json value (a jsonb value's text is its canonical
// form).
func (d *DJSON) ToJSON() *DJSON {
	if d.isJSON {
		return d
	}
	return &DJSON{value: d.value, text: d.text, isJSON: true}
}

// jsonKeyLess is jsonb's key order: by length, then bytewise.
func jsonKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// NormalizeJSON sorts and deduplicates the fields of objects built in
// input order (the last duplicate wins), recursively, establishing
// JSONValue's invariant.
func NormalizeJSON(v JSONValue) JSONValue {
	switch v.Kind {
	case JSONArray:
		elems := make([]JSONValue, len(v.Elems))
		for i, e := range v.Elems {
			elems[i] = NormalizeJSON(e)
		}
		v.Elems = elems
	case JSONObject:
		fields := make([]JSONField, len(v.Fields))
		for i, f := range v.Fields {
			fields[i] = JSONField{Key: f.Key, Value: NormalizeJSON(f.Value)}
		}
		v.Fields = normalizeFields(fields)
	}
	return v
}

// normalizeFields sorts fields (already normalized values) in place and
// removes duplicates, keeping the last.
func normalizeFields(fields []JSONField) []JSONField {
	sort.SliceStable(fields, func(i, j int) bool { return jsonKeyLess(fields[i].Key, fields[j].Key) })
	out := fields[:0]
	for i := range fields {
		if len(out) > 0 && out[len(out)-1].Key == fields[i].Key {
			out[len(out)-1] = fields[i]
			continue
		}
		out = append(out, fields[i])
	}
	return out
}

// AppendJSON appends v in jsonb's output format.
func AppendJSON(b []byte, v JSONValue) []byte {
	switch v.Kind {
	case JSONNull:
		return append(b, "null"...)
	case JSONBool:
		if v.Bool {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case JSONNumber:
		return appendDecimal(b, &v.Num.Decimal)
	case JSONString:
		return AppendJSONString(b, v.Str)
	case JSONArray:
		b = append(b, '[')
		for i, e := range v.Elems {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case JSONObject:
		b = append(b, '{')
		for i, f := range v.Fields {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = AppendJSONString(b, f.Key)
			b = append(b, ": "...)
			b = AppendJSON(b, f.Value)
		}
		return append(b, '}')
	}
	return b
}

// AppendJSONString appends s as a JSON string literal, escaping as
// PostgreSQL's escape_json: \" \\ \b \f \n \r \t, other control characters
// as \u00xx, everything else verbatim.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// maxJSONDepth bounds nesting, so that hostile input cannot exhaust the
// stack (PostgreSQL's limit is its stack depth).
const maxJSONDepth = 6400

type jsonParser struct {
	s      string
	i      int
	strict bool // jsonb: reject \u0000 and unpaired surrogates
	depth  int
	// record asks for the spans of the top-level container's members.
	record  bool
	members []jsonMember
}

// jsonMember is the verbatim span s[start:end] of a top-level member's
// value (key is empty for array elements).
type jsonMember struct {
	key        string
	start, end int
}

func jsonSyntaxError(detail string, args ...any) error {
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type json").WithDetail(detail, args...)
}

func parseJSON(s string, strict bool) (JSONValue, error) {
	if !utf8.ValidString(s) {
		return JSONValue{}, invalidUTF8(s)
	}
	p := &jsonParser{s: s, strict: strict}
	v, err := p.value()
	if err != nil {
		return JSONValue{}, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		tok, ok := p.peekToken()
		if !ok {
			return JSONValue{}, jsonSyntaxError("Token \"%s\" is invalid.", tok)
		}
		return JSONValue{}, jsonSyntaxError("Expected end of input, but found \"%s\".", tok)
	}
	return v, nil
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func isJSONWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// peekToken returns the text of the token at p.i (for error messages) and
// whether it is a valid token.
func (p *jsonParser) peekToken() (string, bool) {
	s, i := p.s, p.i
	c := s[i]
	switch {
	case strings.IndexByte("{}[],:", c) >= 0:
		return s[i : i+1], true
	case c == '"':
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			return s[i:], false
		}
		return s[i : j+1], true
	case c == '-' || c >= '0' && c <= '9':
		end, ok := scanJSONNumber(s, i)
		return s[i:end], ok
	case isJSONWordChar(c):
		j := i
		for j < len(s) && isJSONWordChar(s[j]) {
			j++
		}
		w := s[i:j]
		return w, w == "true" || w == "false" || w == "null"
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return s[i : i+n], false
}

// scanJSONNumber scans a JSON number at i and returns its end and validity;
// an invalid number's end extends over following word characters, as
// PostgreSQL's lexer reports the whole token.
func scanJSONNumber(s string, i int) (int, bool) {
	j := i
	ok := true
	if j < len(s) && s[j] == '-' {
		j++
	}
	digits := func() int {
		st := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return j - st
	}
	if j < len(s) && s[j] == '0' {
		j++
	} else if digits() == 0 {
		ok = false
	}
	if ok && j < len(s) && s[j] == '.' {
		j++
		if digits() == 0 {
			ok = false
		}
	}
	if ok && j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if digits() == 0 {
			ok = false
		}
	}
	if j < len(s) && (isJSONWordChar(s[j]) || s[j] == '.') {
		ok = false
	}
	if !ok {
		for j < len(s) && (isJSONWordChar(s[j]) || s[j] == '.') {
			j++
		}
	}
	return j, ok
}

// expected reports "Expected X, but found Y." or an invalid token.
func (p *jsonParser) expected(what string) error {
	if p.i >= len(p.s) {
		return jsonSyntaxError("The input string ended unexpectedly.")
	}
	tok, ok := p.peekToken()
	if !ok {
		return jsonSyntaxError("Token \"%s\" is invalid.", tok)
	}
	return jsonSyntaxError("Expected %s, but found \"%s\".", what, tok)
}

func (p *jsonParser) value() (JSONValue, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return JSONValue{}, jsonSyntaxError("The input string ended unexpectedly.")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		str, err := p.str()
		return JSONValue{Kind: JSONString, Str: str}, err
	case c == '-' || c >= '0' && c <= '9':
		end, ok := scanJSONNumber(p.s, p.i)
		tok := p.s[p.i:end]
		if !ok {
			return JSONValue{}, jsonSyntaxError("Token \"%s\" is invalid.", tok)
		}
		p.i = end
		d, err := ParseDDecimal(tok)
		if err != nil {
			return JSONValue{}, err
		}
		return JSONValue{Kind: JSONNumber, Num: d}, nil
	default:
		tok, ok := p.peekToken()
		if ok {
			switch tok {
			case "true", "false":
				p.i += len(tok)
				return JSONValue{Kind: JSONBool, Bool: tok == "true"}, nil
			case "null":
				p.i += len(tok)
				return JSONValue{Kind: JSONNull}, nil
			}
			return JSONValue{}, jsonSyntaxError("Expected JSON value, but found \"%s\".", tok)
		}
		return JSONValue{}, jsonSyntaxError("Token \"%s\" is invalid.", tok)
	}
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return sqlerr.New(sqlerr.StatementTooComplex, "stack depth limit exceeded").WithHint("JSON nesting is limited to %d levels.", maxJSONDepth)
	}
	return nil
}

func (p *jsonParser) array() (JSONValue, error) {
	if err := p.enter(); err != nil {
		return JSONValue{}, err
	}
	defer func() { p.depth-- }()
	p.i++ // [
	v := JSONValue{Kind: JSONArray, Elems: []JSONValue{}}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.skipSpace()
		start := p.i
		e, err := p.value()
		if err != nil {
			return JSONValue{}, err
		}
		if p.record && p.depth == 1 {
			p.members = append(p.members, jsonMember{start: start, end: p.i})
		}
		v.Elems = append(v.Elems, e)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return v, nil
		}
		return JSONValue{}, p.expected("\",\" or \"]\"")
	}
}

func (p *jsonParser) object() (JSONValue, error) {
	if err := p.enter(); err != nil {
		return JSONValue{}, err
	}
	defer func() { p.depth-- }()
	p.i++ // {
	v := JSONValue{Kind: JSONObject, Fields: []JSONField{}}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return v, nil
	}
	first := true
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			if first {
				return JSONValue{}, p.expected("string or \"}\"")
			}
			return JSONValue{}, p.expected("string")
		}
		first = false
		key, err := p.str()
		if err != nil {
			return JSONValue{}, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return JSONValue{}, p.expected("\":\"")
		}
		p.i++
		p.skipSpace()
		start := p.i
		e, err := p.value()
		if err != nil {
			return JSONValue{}, err
		}
		if p.record && p.depth == 1 {
			p.members = append(p.members, jsonMember{key: key, start: start, end: p.i})
		}
		v.Fields = append(v.Fields, JSONField{Key: key, Value: e})
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			v.Fields = normalizeFields(v.Fields)
			return v, nil
		}
		return JSONValue{}, p.expected("\",\" or \"}\"")
	}
}

// str parses a string literal at p.i (which is '"') and returns its value.
func (p *jsonParser) str() (string, error) {
	s := p.s
	start := p.i
	i := p.i + 1
	// Fast path: no escapes.
	j := i
	for j < len(s) && s[j] != '"' && s[j] != '\\' && s[j] >= 0x20 {
		j++
	}
	if j < len(s) && s[j] == '"' {
		p.i = j + 1
		return s[i:j], nil
	}
	var b strings.Builder
	b.WriteString(s[i:j])
	i = j
	pendingHigh := rune(-1)
	for {
		if i >= len(s) {
			return "", jsonSyntaxError("Token \"%s\" is invalid.", s[start:])
		}
		c := s[i]
		if c != '\\' && pendingHigh >= 0 {
			if p.strict {
				return "", jsonSyntaxError("Unicode low surrogate must follow a high surrogate.")
			}
			b.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
		switch {
		case c == '"':
			p.i = i + 1
			return b.String(), nil
		case c < 0x20:
			return "", jsonSyntaxError("Character with value 0x%02x must be escaped.", c)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		// Escape.
		if i+1 >= len(s) {
			return "", jsonSyntaxError("Token \"%s\" is invalid.", s[start:])
		}
		e := s[i+1]
		if e != 'u' && pendingHigh >= 0 {
			if p.strict {
				return "", jsonSyntaxError("Unicode low surrogate must follow a high surrogate.")
			}
			b.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+6 > len(s) {
				return "", jsonSyntaxError("\"\\u\" must be followed by four hexadecimal digits.")
			}
			v, err := strconv.ParseUint(s[i+2:i+6], 16, 32)
			if err != nil {
				return "", jsonSyntaxError("\"\\u\" must be followed by four hexadecimal digits.")
			}
			r := rune(v)
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00: // high
				if pendingHigh >= 0 {
					if p.strict {
						return "", jsonSyntaxError("Unicode high surrogate must not follow a high surrogate.")
					}
					b.WriteRune(utf8.RuneError)
				}
				pendingHigh = r
			case utf16.IsSurrogate(r): // low
				if pendingHigh < 0 {
					if p.strict {
						return "", jsonSyntaxError("Unicode low surrogate must follow a high surrogate.")
					}
					b.WriteRune(utf8.RuneError)
				} else {
					b.WriteRune(utf16.DecodeRune(pendingHigh, r))
					pendingHigh = -1
				}
			default:
				if pendingHigh >= 0 {
					if p.strict {
						return "", jsonSyntaxError("Unicode low surrogate must follow a high surrogate.")
					}
					b.WriteRune(utf8.RuneError)
					pendingHigh = -1
				}
				if r == 0 {
					if p.strict {
						return "", sqlerr.New(sqlerr.UntranslatableCharacter, "unsupported Unicode escape sequence").WithDetail("\\u0000 cannot be converted to text.")
					}
					b.WriteRune(utf8.RuneError)
				} else {
					b.WriteRune(r)
				}
			}
			i += 6
			continue
		default:
			_, n := utf8.DecodeRuneInString(s[i+1:])
			return "", jsonSyntaxError("Escape sequence \"\\%s\" is invalid.", s[i+1:i+1+n])
		}
		i += 2
	}
}

// topMembers returns the spans of the members of a json value's top-level
// object or array.
func (d *DJSON) topMembers() []jsonMember {
	p := &jsonParser{s: d.text, record: true}
	if _, err := p.value(); err != nil {
		return nil
	}
	return p.members
}

// FieldText returns the verbatim input text of the member key of a json
// value's top-level object (the last one if the key repeats), as json's
// -> operator returns it. For jsonb it is the canonical text.
func (d *DJSON) FieldText(key string) (string, bool) {
	if !d.isJSON {
		for _, f := range d.value.Fields {
			if f.Key == key {
				return string(AppendJSON(nil, f.Value)), true
			}
		}
		return "", false
	}
	if d.value.Kind != JSONObject {
		return "", false
	}
	ms := d.topMembers()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return d.text[ms[i].start:ms[i].end], true
		}
	}
	return "", false
}

// ElementText returns the verbatim input text of element idx (negative
// counts from the end) of a json value's top-level array.
func (d *DJSON) ElementText(idx int64) (string, bool) {
	if d.value.Kind != JSONArray {
		return "", false
	}
	n := int64(len(d.value.Elems))
	if idx < 0 {
		idx += n
	}
	if idx < 0 || idx >= n {
		return "", false
	}
	if !d.isJSON {
		return string(AppendJSON(nil, d.value.Elems[idx])), true
	}
	ms := d.topMembers()
	if int64(len(ms)) != n {
		return "", false
	}
	return d.text[ms[idx].start:ms[idx].end], true
}

// CompareJSON orders JSON documents by their canonical text. PostgreSQL's
// jsonb btree order (objects > arrays > booleans > numbers > strings >
// null, ...) is not implemented; equality is exact either way.
func compareJSON(a, b *DJSON) int {
	return strings.Compare(a.canonical(), b.canonical())
}

// canonical returns the jsonb text of d.
func (d *DJSON) canonical() string {
	if !d.isJSON {
		return d.text
	}
	return string(AppendJSON(nil, d.value))
}
