package sql

// The wire form of forwarded work (forward.go): requests, answers and the
// recorder that captures a session's results on the core for the edge to
// replay. JSON: small, debuggable, and decoding arbitrary bytes only ever
// fails cleanly.

import (
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// forwardRequest is one forwarded implicit transaction: Query (simple
// protocol) or Execs (extended protocol).
type forwardRequest struct {
	User     string            `json:"user"`
	Database string            `json:"db"`
	Settings map[string]string `json:"settings,omitempty"`
	Query    string            `json:"query,omitempty"`
	Execs    []forwardExec     `json:"execs,omitempty"`
	// Session names the core session of an explicit transaction that
	// was forwarded (forward_txn.go); Keep opens one, running BEGIN
	// first when Begin is set.
	Session uint64 `json:"session,omitempty"`
	Keep    bool   `json:"keep,omitempty"`
	Begin   bool   `json:"begin,omitempty"`
	// Hold keeps an implicit transaction open on a kept session: the
	// batch's Sync has not come yet.
	Hold bool `json:"hold,omitempty"`
	// readOnly: strong reads only, outside a transaction (the edge's
	// decision, for its error when the core cannot be reached).
	readOnly bool
	// Seqs is the session's sequence state (currval, lastval), both
	// ways: the work sees the edge session's, and the edge session takes
	// the core's after it.
	Seqs *forwardSeqs `json:"seqs,omitempty"`
}

// forwardSeqs is a session's sequence state: currval per sequence ID and
// lastval.
type forwardSeqs struct {
	Curr map[uint64]int64 `json:"curr,omitempty"`
	Last *int64           `json:"last,omitempty"`
}

// forwardExec is one Execute of a bound portal: the statement, the
// parameter types the edge inferred, and the parameters as the client
// sent them.
type forwardExec struct {
	SQL           string   `json:"sql"`
	ParamOIDs     []uint32 `json:"param_oids,omitempty"`
	ParamFormats  []int16  `json:"param_formats,omitempty"`
	Params        [][]byte `json:"params,omitempty"`
	ResultFormats []int16  `json:"result_formats,omitempty"`
}

// forwardResponse is the answer: the results in order, then the error
// that ended the work if any (Failed: the Exec it belongs to), and the
// causality token after the commit.
type forwardResponse struct {
	Events []forwardEvent `json:"events,omitempty"`
	Err    *forwardError  `json:"err,omitempty"`
	Failed int            `json:"failed,omitempty"`
	Token  string         `json:"token,omitempty"`
	// Changed are settings the work changed (set_config() in a SELECT),
	// for the edge session to take over.
	Changed map[string]string `json:"changed,omitempty"`
	// Session is the kept core session while its transaction is open;
	// Status is the core session's transaction status after the work.
	Session uint64       `json:"session,omitempty"`
	Status  byte         `json:"status,omitempty"`
	Seqs    *forwardSeqs `json:"seqs,omitempty"`
}

// forwardEvent is one ResultWriter call, tagged with its Exec.
type forwardEvent struct {
	Exec   int           `json:"x,omitempty"`
	Kind   byte          `json:"k"`
	Cols   []Column      `json:"cols,omitempty"`
	Row    [][]byte      `json:"row,omitempty"`
	Tag    string        `json:"tag,omitempty"`
	Notice *forwardError `json:"notice,omitempty"`
}

// Event kinds.
const (
	evRowDescription  = 'T'
	evDataRow         = 'D'
	evCommandComplete = 'C'
	evEmptyQuery      = 'I'
	evNotice          = 'N'
)

// forwardError is an sqlerr.Error on the wire.
type forwardError struct {
	Code     string `json:"code"`
	Message  string `json:"msg"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int    `json:"pos,omitempty"`
	Severity string `json:"sev,omitempty"`
	Where    string `json:"where,omitempty"`
}

func toForwardError(err error) *forwardError {
	e := sqlerr.Convert(err)
	return &forwardError{Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint,
		Position: e.Position, Severity: e.Severity, Where: e.Where}
}

func (f *forwardError) sqlErr() *sqlerr.Error {
	return &sqlerr.Error{Code: f.Code, Message: f.Message, Detail: f.Detail, Hint: f.Hint,
		Position: f.Position, Severity: f.Severity, Where: f.Where}
}

// recorder is the ResultWriter of forwarded work on the core.
type recorder struct {
	exec   int
	events []forwardEvent
}

func (r *recorder) add(e forwardEvent) error {
	e.Exec = r.exec
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) RowDescription(cols []Column) error {
	return r.add(forwardEvent{Kind: evRowDescription, Cols: append([]Column(nil), cols...)})
}

func (r *recorder) DataRow(values [][]byte) error {
	// The session may reuse values once the call returns.
	row := make([][]byte, len(values))
	for i, v := range values {
		if v != nil {
			row[i] = append([]byte{}, v...)
		}
	}
	return r.add(forwardEvent{Kind: evDataRow, Row: row})
}

func (r *recorder) CommandComplete(tag string) error {
	return r.add(forwardEvent{Kind: evCommandComplete, Tag: tag})
}

func (r *recorder) EmptyQuery() error { return r.add(forwardEvent{Kind: evEmptyQuery}) }

func (r *recorder) Notice(n *sqlerr.Error) error {
	return r.add(forwardEvent{Kind: evNotice, Notice: toForwardError(n)})
}

// replay writes one event to w.
func (e *forwardEvent) replay(w ResultWriter) error {
	switch e.Kind {
	case evRowDescription:
		return w.RowDescription(e.Cols)
	case evDataRow:
		return w.DataRow(e.Row)
	case evCommandComplete:
		return w.CommandComplete(e.Tag)
	case evEmptyQuery:
		return w.EmptyQuery()
	case evNotice:
		if e.Notice == nil {
			return nil
		}
		return w.Notice(e.Notice.sqlErr())
	}
	return sqlerr.New(sqlerr.InternalError, "forwarded result: unknown event kind %q", e.Kind)
}

// seqState returns the session's sequence state, nil if it has none.
func (s *Session) seqState() *forwardSeqs {
	q := s.seqs
	if len(q.curr) == 0 && q.last == nil {
		return nil
	}
	out := &forwardSeqs{Curr: map[uint64]int64{}}
	for id, v := range q.curr {
		out.Curr[uint64(id)] = v
	}
	if q.last != nil {
		v := *q.last
		out.Last = &v
	}
	return out
}

// setSeqState replaces the session's sequence state.
func (s *Session) setSeqState(f *forwardSeqs) {
	q := s.seqs
	clear(q.curr)
	q.last = nil
	if f == nil {
		return
	}
	for id, v := range f.Curr {
		q.curr[catalog.ID(id)] = v
	}
	if f.Last != nil {
		v := *f.Last
		q.last = &v
	}
}
