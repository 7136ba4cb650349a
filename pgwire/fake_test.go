package pgwire

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// This file is a fake Backend: a tiny in-memory "SQL engine" that answers
// a handful of statements the way PostgreSQL 15 does (same column names,
// types, tags and errors), so that protocol scripts written against it
// can also run against PostgreSQL and, later, Outpost's SQL layer.
//
//	SELECT item [AS name], ...        items: integers, 'text', true, false,
//	                                  NULL, $n[::int|int4|integer|int8|bigint|text|bool],
//	                                  generate_series(a, b), pg_sleep(s), 1/0
//	SELECT ... FROM t                 42P01 relation "t" does not exist
//	BEGIN | START TRANSACTION | COMMIT | END | ROLLBACK | ABORT
//	SET name = value | SET name TO value | SHOW name
//	anything else                     42601 syntax error at or near "..."

// Type OIDs of the fake.
const (
	oidBool = 16
	oidInt8 = 20
	oidInt4 = 23
	oidText = 25
	oidVoid = 2278
)

type fakeBackend struct {
	// sleeping receives a value when a pg_sleep starts (tests wait on
	// it before canceling); sends do not block.
	sleeping chan struct{}
	// sleepEnded receives the error that ended each pg_sleep early.
	sleepEnded chan error
	// maxSleep caps pg_sleep when set (fuzzing).
	maxSleep time.Duration
	open     atomic.Int64 // sessions not yet closed
	created  atomic.Int64
	// misuse records calls after Close and double Closes.
	mu       sync.Mutex
	misuse   []string
	lastArgs sql.SessionArgs
	// forwarding: sessions defer Executes (forwardingSession).
	forwarding bool
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		sleeping:   make(chan struct{}, 1024),
		sleepEnded: make(chan error, 1024),
	}
}

func (b *fakeBackend) NewSession(ctx context.Context, args sql.SessionArgs) (Session, error) {
	if args.Database == "nosuchdb" {
		return nil, sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", args.Database)
	}
	b.mu.Lock()
	b.lastArgs = args
	b.mu.Unlock()
	s := &fakeSession{
		b:       b,
		txn:     sql.TxnIdle,
		stmts:   map[string]*fakeStmt{},
		portals: map[string]*fakePortal{},
		changed: map[string]bool{},
		settings: map[string]string{
			"application_name":              args.Params["application_name"],
			"client_encoding":               "UTF8",
			"DateStyle":                     "ISO, MDY",
			"default_transaction_read_only": "off",
			"in_hot_standby":                "off",
			"integer_datetimes":             "on",
			"IntervalStyle":                 "postgres",
			"is_superuser":                  "on",
			"server_encoding":               "UTF8",
			"server_version":                "15.0 (Outpost fake)",
			"session_authorization":         args.User,
			"standard_conforming_strings":   "on",
			"TimeZone":                      "UTC",
		},
	}
	if tz := args.Params["TimeZone"]; tz != "" {
		s.settings["TimeZone"] = tz
	}
	b.open.Add(1)
	b.created.Add(1)
	if b.forwarding {
		return &forwardingSession{fakeSession: s}, nil
	}
	return s, nil
}

func (b *fakeBackend) misused(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.misuse = append(b.misuse, fmt.Sprintf(format, args...))
}

var _ Failer = (*fakeSession)(nil)

type fakeSession struct {
	b        *fakeBackend
	txn      sql.TxnStatus
	stmts    map[string]*fakeStmt
	portals  map[string]*fakePortal
	settings map[string]string
	changed  map[string]bool
	closed   bool
}

// fakeStmt is a parsed statement.
type fakeStmt struct {
	kind     string // select, begin, commit, rollback, set, show, empty
	items    []fakeItem
	from     *token // SELECT ... FROM from
	name     string // set, show
	value    string // set
	params   []uint32
	hasRows  bool
	preparer string // statement name, for messages
}

type fakeItem struct {
	kind   string // int, text, bool, null, param, series, sleep, divzero
	name   string
	oid    uint32
	ival   int64
	sval   string
	param  int // 1-based
	lo, hi int64
	sleep  float64
}

type fakePortal struct {
	stmt    *fakeStmt
	params  []any
	formats []int16 // one per column
	pos     int64
	n       int64 // rows in all
	started bool
}

func (s *fakeSession) check(method string) {
	if s.closed {
		s.b.misused("%s after Close", method)
	}
}

func (s *fakeSession) ExecSimple(ctx context.Context, query string, w sql.ResultWriter) error {
	s.check("ExecSimple")
	if query == panicQuery {
		panic("fake session bug")
	}
	stmts, err := parseFake(query)
	if err != nil {
		s.fail()
		return err
	}
	if len(stmts) == 0 {
		return w.EmptyQuery()
	}
	for _, st := range stmts {
		if err := s.run(ctx, st, nil, nil, 0, w, true); err != nil {
			s.fail()
			return err
		}
	}
	return nil
}

// fail moves an explicit transaction to the failed state.
func (s *fakeSession) fail() {
	if s.txn == sql.TxnInProg {
		s.txn = sql.TxnFailed
	}
}

func (s *fakeSession) txnControl(st *fakeStmt, w sql.ResultWriter) (bool, error) {
	switch st.kind {
	case "begin":
		if s.txn != sql.TxnIdle {
			if err := w.Notice(&sqlerr.Error{Code: sqlerr.ActiveSQLTransaction, Severity: "WARNING",
				Message: "there is already a transaction in progress"}); err != nil {
				return true, err
			}
		} else {
			s.txn = sql.TxnInProg
		}
		return true, w.CommandComplete("BEGIN")
	case "commit", "rollback":
		tag := strings.ToUpper(st.kind)
		switch s.txn {
		case sql.TxnIdle:
			if err := w.Notice(&sqlerr.Error{Code: sqlerr.NoActiveSQLTransaction, Severity: "WARNING",
				Message: "there is no transaction in progress"}); err != nil {
				return true, err
			}
		case sql.TxnFailed:
			tag = "ROLLBACK"
		}
		s.txn = sql.TxnIdle
		return true, w.CommandComplete(tag)
	}
	return false, nil
}

// run executes st; with simple it describes rows first.
func (s *fakeSession) run(ctx context.Context, st *fakeStmt, p *fakePortal, params []any, maxRows int, w sql.ResultWriter, simple bool) error {
	if done, err := s.txnControl(st, w); done {
		return err
	}
	if s.txn == sql.TxnFailed {
		return sqlerr.New(sqlerr.InFailedSQLTransaction,
			"current transaction is aborted, commands ignored until end of transaction block")
	}
	switch st.kind {
	case "empty":
		return w.EmptyQuery()
	case "set":
		canon, ok := s.canonical(st.name)
		if !ok {
			return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", st.name)
		}
		if s.settings[canon] != st.value {
			s.settings[canon] = st.value
			s.changed[canon] = true
		}
		return w.CommandComplete("SET")
	case "show":
		canon, ok := s.canonical(st.name)
		if !ok {
			return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", st.name)
		}
		if simple {
			if err := w.RowDescription(st.columns(nil)); err != nil {
				return err
			}
		}
		if err := w.DataRow([][]byte{[]byte(s.settings[canon])}); err != nil {
			return err
		}
		return w.CommandComplete("SHOW")
	}
	// SELECT
	if st.from != nil {
		return sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", st.from.text).WithPosition(st.from.pos)
	}
	if st.divZero() {
		// Constant folding: PostgreSQL fails while planning, before
		// any RowDescription.
		return sqlerr.New(sqlerr.DivisionByZero, "division by zero")
	}
	if p == nil {
		p = &fakePortal{stmt: st, params: params}
		p.n = st.rowCount()
	}
	if simple {
		if err := w.RowDescription(st.columns(nil)); err != nil {
			return err
		}
	}
	if !p.started {
		p.started = true
		for _, it := range st.items {
			switch it.kind {
			case "sleep":
				select {
				case s.b.sleeping <- struct{}{}:
				default:
				}
				d := time.Duration(it.sleep * float64(time.Second))
				if s.b.maxSleep > 0 {
					d = min(d, s.b.maxSleep)
				}
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					select {
					case s.b.sleepEnded <- context.Cause(ctx):
					default:
					}
					return ctx.Err()
				}
			}
		}
	}
	var sent int64
	row := make([][]byte, len(st.items))
	for p.pos < p.n {
		if maxRows > 0 && sent == int64(maxRows) {
			return errSuspended
		}
		if p.pos%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for i, it := range st.items {
			var f int16
			if i < len(p.formats) {
				f = p.formats[i]
			}
			row[i] = it.encode(p.params, p.pos, f)
		}
		if err := w.DataRow(row); err != nil {
			return err
		}
		p.pos++
		sent++
	}
	return w.CommandComplete(fmt.Sprintf("SELECT %d", sent))
}

var errSuspended = fmt.Errorf("suspended")

func (s *fakeSession) canonical(name string) (string, bool) {
	for k := range s.settings {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func (st *fakeStmt) divZero() bool {
	for _, it := range st.items {
		if it.kind == "divzero" {
			return true
		}
	}
	return false
}

func (st *fakeStmt) rowCount() int64 {
	for _, it := range st.items {
		if it.kind == "series" {
			return max(0, it.hi-it.lo+1)
		}
	}
	return 1
}

func (st *fakeStmt) columns(formats []int16) []sql.Column {
	if st.kind == "show" {
		return []sql.Column{{Name: st.name, TypeOID: oidText, TypeSize: -1, TypeMod: -1}}
	}
	if !st.hasRows {
		return nil
	}
	cols := make([]sql.Column, len(st.items))
	for i, it := range st.items {
		size := int16(-1)
		switch it.oid {
		case oidInt4, oidVoid:
			size = 4
		case oidInt8:
			size = 8
		case oidBool:
			size = 1
		}
		cols[i] = sql.Column{Name: it.name, TypeOID: it.oid, TypeSize: size, TypeMod: -1}
		if i < len(formats) {
			cols[i].Format = formats[i]
		}
	}
	return cols
}

func (it fakeItem) encode(params []any, row int64, format int16) []byte {
	var v any
	switch it.kind {
	case "int":
		v = it.ival
	case "text":
		v = it.sval
	case "bool":
		v = it.ival != 0
	case "null":
		return nil
	case "series":
		v = it.lo + row
	case "sleep":
		return []byte{}
	case "param":
		v = params[it.param-1]
		if v == nil {
			return nil
		}
	}
	if format == 0 {
		switch v := v.(type) {
		case int64:
			return strconv.AppendInt(nil, v, 10)
		case bool:
			if v {
				return []byte("t")
			}
			return []byte("f")
		case string:
			return []byte(v)
		}
	}
	switch v := v.(type) {
	case int64:
		if it.oid == oidInt8 {
			return binary.BigEndian.AppendUint64(nil, uint64(v))
		}
		return binary.BigEndian.AppendUint32(nil, uint32(v))
	case bool:
		if v {
			return []byte{1}
		}
		return []byte{0}
	case string:
		return []byte(v)
	}
	return nil
}

func (s *fakeSession) Prepare(ctx context.Context, name, query string, paramOIDs []uint32) (*sql.StatementDescription, error) {
	s.check("Prepare")
	desc, err := s.prepare(name, query, paramOIDs)
	if err != nil {
		s.fail()
	}
	return desc, err
}

func (s *fakeSession) prepare(name, query string, paramOIDs []uint32) (*sql.StatementDescription, error) {
	if _, dup := s.stmts[name]; dup && name != "" {
		return nil, sqlerr.New(sqlerr.DuplicatePreparedStatement, "prepared statement %q already exists", name)
	}
	stmts, err := parseFake(query)
	if err != nil {
		return nil, err
	}
	var st *fakeStmt
	switch len(stmts) {
	case 0:
		st = &fakeStmt{kind: "empty"}
	case 1:
		st = stmts[0]
	default:
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	if s.txn == sql.TxnFailed && st.kind != "commit" && st.kind != "rollback" {
		return nil, sqlerr.New(sqlerr.InFailedSQLTransaction,
			"current transaction is aborted, commands ignored until end of transaction block")
	}
	if err := st.inferParams(paramOIDs); err != nil {
		return nil, err
	}
	st.preparer = name
	s.stmts[name] = st
	return st.describe(), nil
}

func (st *fakeStmt) describe() *sql.StatementDescription {
	return &sql.StatementDescription{ParamTypes: st.params, Columns: st.columns(nil)}
}

// inferParams types $1..$n: the client's OID if given, else the cast's.
func (st *fakeStmt) inferParams(given []uint32) error {
	n := len(given)
	for _, it := range st.items {
		if it.kind == "param" {
			n = max(n, it.param)
		}
	}
	st.params = make([]uint32, n)
	copy(st.params, given)
	for i := range st.items {
		it := &st.items[i]
		if it.kind != "param" {
			continue
		}
		if st.params[it.param-1] == 0 {
			// An uncast parameter that the client did not type is
			// text, as PostgreSQL resolves unknown in a select list.
			st.params[it.param-1] = cmp.Or(it.oid, oidText)
		}
		if it.oid == 0 {
			it.oid = st.params[it.param-1]
			it.name = "?column?"
		}
	}
	for i, oid := range st.params {
		if oid == 0 {
			return sqlerr.New(sqlerr.IndeterminateDatatype, "could not determine data type of parameter $%d", i+1)
		}
	}
	return nil
}

func (s *fakeSession) DescribeStatement(ctx context.Context, name string) (*sql.StatementDescription, error) {
	s.check("DescribeStatement")
	st, ok := s.stmts[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", name)
	}
	return st.describe(), nil
}

func (s *fakeSession) Bind(ctx context.Context, portal, stmt string, paramFormats []int16, params [][]byte, resultFormats []int16) error {
	s.check("Bind")
	err := s.bind(portal, stmt, paramFormats, params, resultFormats)
	if err != nil {
		s.fail()
	}
	return err
}

func (s *fakeSession) bind(portal, stmt string, paramFormats []int16, params [][]byte, resultFormats []int16) error {
	st, ok := s.stmts[stmt]
	if !ok {
		return sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", stmt)
	}
	if len(params) != len(st.params) {
		return sqlerr.New(sqlerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d",
			len(params), stmt, len(st.params))
	}
	if _, dup := s.portals[portal]; dup && portal != "" {
		return sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", portal)
	}
	if s.txn == sql.TxnFailed && st.kind != "commit" && st.kind != "rollback" {
		return sqlerr.New(sqlerr.InFailedSQLTransaction,
			"current transaction is aborted, commands ignored until end of transaction block")
	}
	values := make([]any, len(params))
	for i, raw := range params {
		if raw == nil {
			continue
		}
		f := int16(0)
		switch {
		case len(paramFormats) == 1:
			f = paramFormats[0]
		case len(paramFormats) > 1:
			f = paramFormats[i]
		}
		v, err := decodeParam(st.params[i], f, raw, i+1)
		if err != nil {
			return err
		}
		values[i] = v
	}
	if st.divZero() {
		// Planning (at Bind, for the extended protocol) folds 1/0.
		return sqlerr.New(sqlerr.DivisionByZero, "division by zero")
	}
	// Cast each parameter to the type its item asks for.
	for _, it := range st.items {
		if it.kind != "param" || values[it.param-1] == nil {
			continue
		}
		v, err := castTo(values[it.param-1], it.oid)
		if err != nil {
			return err
		}
		values[it.param-1] = v
	}
	ncols := len(st.columns(nil))
	formats := make([]int16, ncols)
	switch {
	case len(resultFormats) == 1:
		for i := range formats {
			formats[i] = resultFormats[0]
		}
	case len(resultFormats) > 1:
		if len(resultFormats) != ncols {
			return sqlerr.New(sqlerr.ProtocolViolation, "bind message has %d result formats but query has %d columns",
				len(resultFormats), ncols)
		}
		copy(formats, resultFormats)
	}
	s.portals[portal] = &fakePortal{stmt: st, params: values, formats: formats, n: st.rowCount()}
	return nil
}

func decodeParam(oid uint32, format int16, raw []byte, n int) (any, error) {
	if format == 1 {
		switch oid {
		case oidInt4:
			if len(raw) != 4 {
				return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
			}
			return int64(int32(binary.BigEndian.Uint32(raw))), nil
		case oidInt8:
			if len(raw) != 8 {
				return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
			}
			return int64(binary.BigEndian.Uint64(raw)), nil
		case oidBool:
			if len(raw) != 1 {
				return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
			}
			return raw[0] != 0, nil
		}
		return string(raw), nil
	}
	if !utf8.Valid(raw) {
		return nil, checkUTF8(string(raw))
	}
	return castTo(string(raw), oid)
}

func castTo(v any, oid uint32) (any, error) {
	switch oid {
	case oidInt4, oidInt8:
		switch v := v.(type) {
		case int64:
			return v, nil
		case string:
			bits, typ := 32, "integer"
			if oid == oidInt8 {
				bits, typ = 64, "bigint"
			}
			i, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
			if err != nil {
				if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
					return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value %q is out of range for type %s", v, typ)
				}
				return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typ, v)
			}
			return i, nil
		case bool:
			if v {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case oidBool:
		switch v := v.(type) {
		case bool:
			return v, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "t", "true", "on", "yes", "1":
				return true, nil
			case "f", "false", "off", "no", "0":
				return false, nil
			}
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type boolean: %q", v)
		}
	case oidText:
		switch v := v.(type) {
		case int64:
			return strconv.FormatInt(v, 10), nil
		case bool:
			if v {
				return "true", nil
			}
			return "false", nil
		}
	}
	return v, nil
}

func (s *fakeSession) DescribePortal(ctx context.Context, name string) ([]sql.Column, error) {
	s.check("DescribePortal")
	p, ok := s.portals[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidCursorName, "portal %q does not exist", name)
	}
	return p.stmt.columns(p.formats), nil
}

func (s *fakeSession) Execute(ctx context.Context, portal string, maxRows int, w sql.ResultWriter) (bool, error) {
	s.check("Execute")
	p, ok := s.portals[portal]
	if !ok {
		return false, sqlerr.New(sqlerr.InvalidCursorName, "portal %q does not exist", portal)
	}
	err := s.run(ctx, p.stmt, p, p.params, maxRows, w, false)
	if err == errSuspended {
		return true, nil
	}
	if err != nil {
		s.fail()
	}
	return false, err
}

func (s *fakeSession) CloseStatement(ctx context.Context, name string) error {
	s.check("CloseStatement")
	delete(s.stmts, name)
	return nil
}

func (s *fakeSession) ClosePortal(ctx context.Context, name string) error {
	s.check("ClosePortal")
	delete(s.portals, name)
	return nil
}

func (s *fakeSession) Sync(ctx context.Context) error {
	s.check("Sync")
	if s.txn == sql.TxnIdle {
		// The implicit transaction ends; its portals go with it.
		clear(s.portals)
	}
	return nil
}

func (s *fakeSession) Failed(ctx context.Context, err error) {
	s.check("Failed")
	s.fail()
}

func (s *fakeSession) TxnStatus() sql.TxnStatus { return s.txn }

func (s *fakeSession) ParameterStatus(changedOnly bool) map[string]string {
	s.check("ParameterStatus")
	out := map[string]string{}
	for k, v := range s.settings {
		if !changedOnly || s.changed[k] {
			out[k] = v
		}
	}
	clear(s.changed)
	return out
}

func (s *fakeSession) Close() {
	if s.closed {
		s.b.misused("double Close")
	}
	s.closed = true
	s.b.open.Add(-1)
}

// --- the fake's parser ---

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokParam
	tokOp
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based character offset
}

func lexFake(q string) ([]token, error) {
	var toks []token
	runes := []rune(q)
	for i := 0; i < len(runes); {
		r := runes[i]
		start := i
		switch {
		case unicode.IsSpace(r):
			i++
			continue
		case r == '-' && i+1 < len(runes) && runes[i+1] == '-':
			for i < len(runes) && runes[i] != '\n' {
				i++
			}
			continue
		case unicode.IsLetter(r) || r == '_':
			for i < len(runes) && (unicode.IsLetter(runes[i]) || unicode.IsDigit(runes[i]) || runes[i] == '_') {
				i++
			}
			toks = append(toks, token{tokIdent, string(runes[start:i]), start + 1})
		case unicode.IsDigit(r):
			for i < len(runes) && (unicode.IsDigit(runes[i]) || runes[i] == '.') {
				i++
			}
			toks = append(toks, token{tokNumber, string(runes[start:i]), start + 1})
		case r == '$':
			i++
			for i < len(runes) && unicode.IsDigit(runes[i]) {
				i++
			}
			toks = append(toks, token{tokParam, string(runes[start:i]), start + 1})
		case r == '\'':
			var sb strings.Builder
			i++
			for {
				if i >= len(runes) {
					return nil, sqlerr.New(sqlerr.SyntaxError, "unterminated quoted string at or near %q", string(runes[start:])).
						WithPosition(start + 1)
				}
				if runes[i] == '\'' {
					if i+1 < len(runes) && runes[i+1] == '\'' {
						sb.WriteRune('\'')
						i += 2
						continue
					}
					i++
					break
				}
				sb.WriteRune(runes[i])
				i++
			}
			toks = append(toks, token{tokString, sb.String(), start + 1})
		case r == ':' && i+1 < len(runes) && runes[i+1] == ':':
			i += 2
			toks = append(toks, token{tokOp, "::", start + 1})
		default:
			i++
			toks = append(toks, token{tokOp, string(r), start + 1})
		}
	}
	return append(toks, token{tokEOF, "", len(runes) + 1}), nil
}

func syntaxError(t token) error {
	if t.kind == tokEOF {
		return sqlerr.New(sqlerr.SyntaxError, "syntax error at end of input").WithPosition(t.pos)
	}
	return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q", t.text).WithPosition(t.pos)
}

// parseFake parses a query string into statements (empty ones dropped).
func parseFake(q string) ([]*fakeStmt, error) {
	toks, err := lexFake(q)
	if err != nil {
		return nil, err
	}
	var out []*fakeStmt
	p := &fakeParser{toks: toks}
	for p.peek().kind != tokEOF {
		if p.peek().text == ";" {
			p.next()
			continue
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
		if t := p.peek(); t.kind != tokEOF && t.text != ";" {
			return nil, syntaxError(t)
		}
	}
	return out, nil
}

type fakeParser struct {
	toks []token
	i    int
}

func (p *fakeParser) peek() token { return p.toks[p.i] }

func (p *fakeParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *fakeParser) keyword(words ...string) bool {
	t := p.peek()
	if t.kind != tokIdent {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			p.next()
			return true
		}
	}
	return false
}

func (p *fakeParser) expect(op string) error {
	if t := p.next(); t.text != op || (t.kind != tokOp) {
		return syntaxError(t)
	}
	return nil
}

func (p *fakeParser) statement() (*fakeStmt, error) {
	switch {
	case p.keyword("SELECT"):
		return p.selectStmt()
	case p.keyword("BEGIN"):
		p.skipModes()
		return &fakeStmt{kind: "begin"}, nil
	case p.keyword("START"):
		if !p.keyword("TRANSACTION") {
			return nil, syntaxError(p.peek())
		}
		p.skipModes()
		return &fakeStmt{kind: "begin"}, nil
	case p.keyword("COMMIT", "END"):
		p.keyword("TRANSACTION", "WORK")
		return &fakeStmt{kind: "commit"}, nil
	case p.keyword("ROLLBACK", "ABORT"):
		p.keyword("TRANSACTION", "WORK")
		return &fakeStmt{kind: "rollback"}, nil
	case p.keyword("SET"):
		name := p.next()
		if name.kind != tokIdent {
			return nil, syntaxError(name)
		}
		if !p.keyword("TO") {
			if err := p.expect("="); err != nil {
				return nil, err
			}
		}
		v := p.next()
		if v.kind != tokIdent && v.kind != tokString && v.kind != tokNumber {
			return nil, syntaxError(v)
		}
		return &fakeStmt{kind: "set", name: name.text, value: v.text}, nil
	case p.keyword("SHOW"):
		name := p.next()
		if name.kind != tokIdent {
			return nil, syntaxError(name)
		}
		return &fakeStmt{kind: "show", name: name.text, hasRows: true}, nil
	}
	return nil, syntaxError(p.peek())
}

// skipModes skips transaction modes (ISOLATION LEVEL ..., READ WRITE).
func (p *fakeParser) skipModes() {
	for t := p.peek(); t.kind != tokEOF && t.text != ";"; t = p.peek() {
		p.next()
	}
}

func (p *fakeParser) selectStmt() (*fakeStmt, error) {
	st := &fakeStmt{kind: "select", hasRows: true}
	for {
		it, err := p.item()
		if err != nil {
			return nil, err
		}
		if p.keyword("AS") {
			t := p.next()
			if t.kind != tokIdent {
				return nil, syntaxError(t)
			}
			it.name = strings.ToLower(t.text)
		}
		st.items = append(st.items, it)
		if p.peek().text != "," {
			break
		}
		p.next()
	}
	if p.keyword("FROM") {
		t := p.next()
		if t.kind != tokIdent {
			return nil, syntaxError(t)
		}
		st.from = &t
	}
	return st, nil
}

func (p *fakeParser) item() (fakeItem, error) {
	it, err := p.primary()
	if err != nil {
		return it, err
	}
	for p.peek().text == "::" {
		p.next()
		typ := p.next()
		var oid uint32
		switch strings.ToLower(typ.text) {
		case "int", "int4", "integer":
			oid = oidInt4
		case "int8", "bigint":
			oid = oidInt8
		case "text":
			oid = oidText
		case "bool", "boolean":
			oid = oidBool
		default:
			return fakeItem{}, sqlerr.New(sqlerr.UndefinedObject, "type %q does not exist", typ.text).WithPosition(typ.pos)
		}
		if it, err = it.cast(oid); err != nil {
			return it, err
		}
	}
	return it, nil
}

var typeNames = map[uint32]string{oidInt4: "int4", oidInt8: "int8", oidText: "text", oidBool: "bool"}

// cast applies ::type to a parsed item.
func (it fakeItem) cast(oid uint32) (fakeItem, error) {
	switch it.kind {
	case "param", "null":
	case "int", "text", "bool":
		var v any
		switch it.kind {
		case "int":
			v = it.ival
		case "text":
			v = it.sval
		case "bool":
			v = it.ival != 0
		}
		c, err := castTo(v, oid)
		if err != nil {
			return it, err
		}
		switch c := c.(type) {
		case int64:
			it.kind, it.ival = "int", c
		case string:
			it.kind, it.sval = "text", c
		case bool:
			it.kind, it.ival = "bool", 0
			if c {
				it.ival = 1
			}
		}
	default:
		return it, sqlerr.New(sqlerr.FeatureNotSupported, "the fake cannot cast %s", it.kind)
	}
	it.oid, it.name = oid, typeNames[oid]
	return it, nil
}

func (p *fakeParser) primary() (fakeItem, error) {
	t := p.next()
	switch t.kind {
	case tokOp:
		switch t.text {
		case "(":
			it, err := p.item()
			if err != nil {
				return it, err
			}
			return it, p.expect(")")
		case "-":
			n := p.next()
			if n.kind != tokNumber {
				return fakeItem{}, syntaxError(n)
			}
			v, err := strconv.ParseInt("-"+n.text, 10, 64)
			if err != nil {
				return fakeItem{}, syntaxError(n)
			}
			return intItem(v), nil
		}
	case tokNumber:
		if p.peek().text == "/" {
			p.next()
			d := p.next()
			if d.kind != tokNumber {
				return fakeItem{}, syntaxError(d)
			}
			if d.text == "0" {
				return fakeItem{kind: "divzero", name: "?column?", oid: oidInt4}, nil
			}
			return fakeItem{}, syntaxError(d)
		}
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return fakeItem{}, syntaxError(t)
		}
		return intItem(v), nil
	case tokString:
		return fakeItem{kind: "text", name: "?column?", oid: oidText, sval: t.text}, nil
	case tokParam:
		n, err := strconv.Atoi(t.text[1:])
		if err != nil || n < 1 || n > 100 {
			return fakeItem{}, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter %s", t.text).WithPosition(t.pos)
		}
		return fakeItem{kind: "param", param: n}, nil
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			v := int64(0)
			if strings.EqualFold(t.text, "true") {
				v = 1
			}
			return fakeItem{kind: "bool", name: "?column?", oid: oidBool, ival: v}, nil
		case "null":
			return fakeItem{kind: "null", name: "?column?", oid: oidText}, nil
		case "generate_series":
			args, err := p.args(2)
			if err != nil {
				return fakeItem{}, err
			}
			return fakeItem{kind: "series", name: "generate_series", oid: oidInt4, lo: int64(args[0]), hi: int64(args[1])}, nil
		case "pg_sleep":
			args, err := p.args(1)
			if err != nil {
				return fakeItem{}, err
			}
			return fakeItem{kind: "sleep", name: "pg_sleep", oid: oidVoid, sleep: args[0]}, nil
		}
	}
	return fakeItem{}, syntaxError(t)
}

// intItem is an integer literal: int4 if it fits, else int8.
func intItem(v int64) fakeItem {
	if v == int64(int32(v)) {
		return fakeItem{kind: "int", name: "?column?", oid: oidInt4, ival: v}
	}
	return fakeItem{kind: "int", name: "?column?", oid: oidInt8, ival: v}
}

// args parses (number, ...) with n numbers.
func (p *fakeParser) args(n int) ([]float64, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []float64
	for i := range n {
		if i > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		t := p.next()
		v, err := strconv.ParseFloat(t.text, 64)
		if t.kind != tokNumber || err != nil {
			return nil, syntaxError(t)
		}
		out = append(out, v)
	}
	return out, p.expect(")")
}
