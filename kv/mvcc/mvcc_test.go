package mvcc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

// TestMVCC runs the files of testdata/mvcc, each on a fresh in-memory
// engine. Timestamps are written <wall seconds>[,<logical>] or max; values
// and keys are plain words (Go escapes such as \x00 allowed). Commands, with
// a usage example each:
//
//	txn_begin t=A ts=10           new transaction A reading and writing at 10
//	txn_advance t=A ts=15         move A's write timestamp (as a push would)
//	txn_read_at t=A ts=15         move A's read timestamp (as a refresh would)
//	put k=a v=x ts=5              non-transactional put at 5
//	put k=a v=x t=A               A's intent at its write timestamp
//	del k=a ts=5 | del k=a t=A    tombstone
//	cput k=a v=y exp=x ts=5       conditional put; no exp: key must be absent
//	del_range k=a end=c ts=5      tombstones over [a, c) (t=A: read at A's
//	                              read ts, write at its write ts)
//	get k=a ts=5 [t=A] [unc=8] [inconsistent]
//	scan k=a end=z ts=5 [t=A] [max=2] [reverse] [unc=8] [inconsistent]
//	resolve k=a [end=z] t=A status=committed|aborted
//	refresh k=a [end=z] from=5 to=10 t=A
//	gc k=a end=z threshold=10
//	put_raw k=a [ts=5] hex=07ff   raw engine value, for corruption cases
//	clear_raw k=a [ts=5]          raw engine delete, likewise
//	dump                          every engine entry in order
//	_breakpoint                   no-op, a place for a debugger breakpoint
//
// A transactional read without ts= reads at the transaction's read
// timestamp. Writes of a transaction forward its write timestamp to the one
// actually used (write-too-old), as eval does. Errors are printed.
func TestMVCC(t *testing.T) {
	datadriven.Walk(t, "../../testdata/mvcc", func(t *testing.T, path string) {
		e := &ddEnv{eng: storage.OpenInMem(), txns: map[string]*kvpb.Transaction{}}
		defer e.eng.Close()
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return e.Handle(t, td)
		})
	})
}

type ddEnv struct {
	eng  *storage.Pebble
	txns map[string]*kvpb.Transaction
}

// Handle runs one command.
func (e *ddEnv) Handle(t *testing.T, td *datadriven.TestData) string {
	var out strings.Builder
	switch td.Cmd {
	case "_breakpoint":
		return ""

	case "txn_begin":
		name := string(e.arg(t, td, "t"))
		ts := e.ts(t, td, "ts")
		e.txns[name] = &kvpb.Transaction{
			TxnMeta:       kvpb.TxnMeta{ID: txnID(name), WriteTimestamp: ts, MinTimestamp: ts},
			Name:          name,
			ReadTimestamp: ts,
		}
		return e.txnString(e.txns[name])

	case "txn_advance", "txn_read_at":
		txn := e.txn(t, td)
		if txn == nil {
			td.Fatalf(t, "%s needs t=", td.Cmd)
		}
		ts := e.ts(t, td, "ts")
		if td.Cmd == "txn_advance" {
			txn.WriteTimestamp = ts
		} else {
			txn.ReadTimestamp = ts
			txn.WriteTimestamp.Forward(ts)
		}
		return e.txnString(txn)

	case "put", "del", "cput":
		txn, ts := e.writeCtx(t, td)
		key := e.arg(t, td, "k")
		var err error
		var wts hlc.Timestamp
		var found bool
		switch td.Cmd {
		case "put":
			wts, err = Put(e.eng, key, e.arg(t, td, "v"), txn, ts)
		case "del":
			found, wts, err = Delete(e.eng, key, txn, ts)
		case "cput":
			var exp []byte
			if td.HasArg("exp") {
				exp = e.arg(t, td, "exp")
			}
			wts, err = ConditionalPut(e.eng, key, e.arg(t, td, "v"), exp, txn, ts)
		}
		if err != nil {
			return e.errString(err)
		}
		fmt.Fprintf(&out, "%s: %q at %s", td.Cmd, key, fmtTS(wts))
		if td.Cmd == "del" {
			fmt.Fprintf(&out, " (found=%t)", found)
		}
		e.wrote(&out, txn, ts, wts)
		return out.String()

	case "del_range":
		txn, ts := e.writeCtx(t, td)
		readTs := ts
		var opts ReadOptions
		if txn != nil {
			readTs, opts.Txn = txn.ReadTimestamp, txn
		}
		deleted, wts, err := DeleteRange(e.eng, e.arg(t, td, "k"), e.arg(t, td, "end"), txn, readTs, ts, opts)
		if err != nil {
			return e.errString(err)
		}
		var ks []string
		for _, k := range deleted {
			ks = append(ks, fmt.Sprintf("%q", []byte(k)))
		}
		fmt.Fprintf(&out, "del_range: deleted [%s] at %s", strings.Join(ks, " "), fmtTS(wts))
		e.wrote(&out, txn, ts, wts)
		return out.String()

	case "get":
		key := e.arg(t, td, "k")
		ts, opts := e.readCtx(t, td)
		v, vts, err := Get(e.eng, key, ts, opts)
		if err != nil {
			return e.errString(err)
		}
		if v == nil {
			if !vts.IsEmpty() {
				return fmt.Sprintf("get: %q -> <none> but timestamp %s", key, fmtTS(vts))
			}
			return fmt.Sprintf("get: %q -> <none>", key)
		}
		return fmt.Sprintf("get: %q -> %q @%s", key, v, fmtTS(vts))

	case "scan":
		start, end := e.arg(t, td, "k"), e.arg(t, td, "end")
		ts, opts := e.readCtx(t, td)
		var maxKeys int64
		if td.HasArg("max") {
			td.ScanArgs(t, "max", &maxKeys)
		}
		rows, resume, err := Scan(e.eng, start, end, ts, maxKeys, td.HasArg("reverse"), opts)
		if err != nil {
			return e.errString(err)
		}
		for _, r := range rows {
			fmt.Fprintf(&out, "scan: %q -> %q @%s\n", []byte(r.Key), r.Value, fmtTS(r.Timestamp))
		}
		if len(rows) == 0 {
			out.WriteString("scan: <empty>\n")
		}
		if resume != nil {
			fmt.Fprintf(&out, "scan: resume %s\n", resume)
		}
		return out.String()

	case "resolve":
		txn := e.txn(t, td)
		if txn == nil {
			td.Fatalf(t, "resolve needs t=")
		}
		var status kvpb.TxnStatus
		switch s := string(e.arg(t, td, "status")); s {
		case "committed":
			status = kvpb.COMMITTED
		case "aborted":
			status = kvpb.ABORTED
		case "pending":
			status = kvpb.PENDING
		default:
			td.Fatalf(t, "unknown status %q", s)
		}
		var n int
		var err error
		if td.HasArg("end") {
			n, err = ResolveIntentRange(e.eng, e.arg(t, td, "k"), e.arg(t, td, "end"), txn.TxnMeta, status, txn.WriteTimestamp)
		} else {
			var ok bool
			ok, err = ResolveIntent(e.eng, e.arg(t, td, "k"), txn.TxnMeta, status, txn.WriteTimestamp)
			if ok {
				n = 1
			}
		}
		if err != nil {
			return e.errString(err)
		}
		return fmt.Sprintf("resolve: %d intent(s) %s at %s", n, status, fmtTS(txn.WriteTimestamp))

	case "refresh":
		txn := e.txn(t, td)
		if txn == nil {
			td.Fatalf(t, "refresh needs t=")
		}
		var end []byte
		if td.HasArg("end") {
			end = e.arg(t, td, "end")
		}
		if err := Refresh(e.eng, e.arg(t, td, "k"), end, e.ts(t, td, "from"), e.ts(t, td, "to"), txn.ID); err != nil {
			return e.errString(err)
		}
		return "refresh: ok"

	case "gc":
		n, err := GarbageCollect(e.eng, e.arg(t, td, "k"), e.arg(t, td, "end"), e.ts(t, td, "threshold"))
		if err != nil {
			return e.errString(err)
		}
		return fmt.Sprintf("gc: removed %d", n)

	case "put_raw":
		k := storage.MVCCKey{Key: e.arg(t, td, "k")}
		if td.HasArg("ts") {
			k.Timestamp = e.ts(t, td, "ts")
		}
		v, err := hex.DecodeString(string(e.arg(t, td, "hex")))
		if err != nil {
			td.Fatalf(t, "hex: %v", err)
		}
		if err := e.eng.Put(k, v); err != nil {
			td.Fatalf(t, "%v", err)
		}
		return fmt.Sprintf("put_raw: %s = %x", fmtKey(k), v)

	case "clear_raw":
		k := storage.MVCCKey{Key: e.arg(t, td, "k")}
		if td.HasArg("ts") {
			k.Timestamp = e.ts(t, td, "ts")
		}
		if err := e.eng.Clear(k); err != nil {
			td.Fatalf(t, "%v", err)
		}
		return fmt.Sprintf("clear_raw: %s", fmtKey(k))

	case "dump":
		return e.dump()

	default:
		td.Fatalf(t, "unknown command %q", td.Cmd)
		return ""
	}
}

// dump renders every entry of the engine: intent metadata as "meta", values
// with their timestamp.
func (e *ddEnv) dump() string {
	it, err := e.eng.NewIter(storage.IterOptions{})
	if err != nil {
		return e.errString(err)
	}
	defer it.Close()
	var out strings.Builder
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		raw, err := it.Value()
		if err != nil {
			return out.String() + e.errString(err)
		}
		fmt.Fprintf(&out, "%s: ", fmtKey(k))
		if !k.IsVersioned() {
			m, err := decodeMeta(raw)
			if err != nil {
				fmt.Fprintf(&out, "undecodable meta %x (%v)\n", raw, err)
				continue
			}
			fmt.Fprintf(&out, "meta txn=%s w=%s min=%s anchor=%q\n", e.txnName(m.ID), fmtTS(m.WriteTimestamp), fmtTS(m.MinTimestamp), []byte(m.Key))
			continue
		}
		v, err := decodeValue(raw)
		switch {
		case err != nil:
			fmt.Fprintf(&out, "undecodable value %x (%v)\n", raw, err)
		case v == nil:
			out.WriteString("<tombstone>\n")
		default:
			fmt.Fprintf(&out, "%q\n", v)
		}
	}
	if err := it.Err(); err != nil {
		out.WriteString(e.errString(err))
	}
	if out.Len() == 0 {
		return "<empty engine>"
	}
	return out.String()
}

// wrote forwards the transaction's write timestamp to wts and notes a write
// that did not land where it was asked to.
func (e *ddEnv) wrote(out *strings.Builder, txn *kvpb.Transaction, ts, wts hlc.Timestamp) {
	if wts != ts {
		fmt.Fprintf(out, " (asked %s)", fmtTS(ts))
	}
	if txn != nil && txn.WriteTimestamp.Forward(wts) {
		fmt.Fprintf(out, "\n%s", e.txnString(txn))
	}
}

// arg returns a string argument; Go escapes (\x00) are interpreted.
func (e *ddEnv) arg(t *testing.T, td *datadriven.TestData, key string) []byte {
	var s string
	td.ScanArgs(t, key, &s)
	if strings.Contains(s, `\`) {
		u, err := strconv.Unquote(`"` + s + `"`)
		if err != nil {
			td.Fatalf(t, "%s=%s: %v", key, s, err)
		}
		s = u
	}
	return []byte(s)
}

func (e *ddEnv) ts(t *testing.T, td *datadriven.TestData, key string) hlc.Timestamp {
	ts, err := parseTS(string(e.arg(t, td, key)))
	if err != nil {
		td.Fatalf(t, "%s: %v", key, err)
	}
	return ts
}

func (e *ddEnv) txn(t *testing.T, td *datadriven.TestData) *kvpb.Transaction {
	if !td.HasArg("t") {
		return nil
	}
	name := string(e.arg(t, td, "t"))
	txn, ok := e.txns[name]
	if !ok {
		td.Fatalf(t, "unknown transaction %q", name)
	}
	return txn
}

// writeCtx returns the transaction and timestamp a write uses: the
// transaction's write timestamp, or ts= for a non-transactional write. The
// first write of a transaction sets its anchor key.
func (e *ddEnv) writeCtx(t *testing.T, td *datadriven.TestData) (*kvpb.Transaction, hlc.Timestamp) {
	txn := e.txn(t, td)
	if txn == nil {
		return nil, e.ts(t, td, "ts")
	}
	if td.HasArg("ts") {
		td.Fatalf(t, "a transactional write uses the transaction's timestamp; drop ts=")
	}
	if len(txn.Key) == 0 {
		txn.Key = e.arg(t, td, "k")
	}
	return txn, txn.WriteTimestamp
}

func (e *ddEnv) readCtx(t *testing.T, td *datadriven.TestData) (hlc.Timestamp, ReadOptions) {
	var opts ReadOptions
	var ts hlc.Timestamp
	if txn := e.txn(t, td); txn != nil {
		opts.Txn = txn
		ts = txn.ReadTimestamp
	}
	if td.HasArg("ts") {
		ts = e.ts(t, td, "ts")
	} else if opts.Txn == nil {
		td.Fatalf(t, "a non-transactional read needs ts=")
	}
	if td.HasArg("unc") {
		opts.UncertaintyLimit = e.ts(t, td, "unc")
	}
	opts.Inconsistent = td.HasArg("inconsistent")
	return ts, opts
}

func (e *ddEnv) txnName(id kvpb.TxnID) string {
	for name, txn := range e.txns {
		if txn.ID == id {
			return name
		}
	}
	return id.String()
}

func (e *ddEnv) txnString(txn *kvpb.Transaction) string {
	return fmt.Sprintf("txn %s: r=%s w=%s anchor=%q", txn.Name, fmtTS(txn.ReadTimestamp), fmtTS(txn.WriteTimestamp), []byte(txn.Key))
}

// errString renders an error with its type, the sentinels it wraps and,
// for a WriteIntentError, the intents by transaction name.
func (e *ddEnv) errString(err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "error: (%T) %s", err, err)
	for _, s := range []struct {
		err  error
		name string
	}{
		{ErrCorruptValue, "mvcc.ErrCorruptValue"},
		{kvpb.ErrCorruptValue, "kvpb.ErrCorruptValue"},
		{storage.ErrCorruptKey, "storage.ErrCorruptKey"},
	} {
		if errors.Is(err, s.err) {
			fmt.Fprintf(&b, " [is %s]", s.name)
		}
	}
	var wie *kvpb.WriteIntentError
	if errors.As(err, &wie) {
		for _, in := range wie.Intents {
			fmt.Fprintf(&b, "\n  intent %q txn=%s w=%s", []byte(in.Key), e.txnName(in.Txn.ID), fmtTS(in.Txn.WriteTimestamp))
		}
	}
	return b.String()
}

// txnID derives a transaction ID from its name: the name's bytes, so that
// the short form in error messages is the name in hex.
func txnID(name string) kvpb.TxnID {
	var id kvpb.TxnID
	copy(id[:], name)
	return id
}

// parseTS parses <wall seconds>[,<logical>], or max (hlc.MaxTimestamp).
func parseTS(s string) (hlc.Timestamp, error) {
	if s == "max" {
		return hlc.MaxTimestamp, nil
	}
	wall, logical, _ := strings.Cut(s, ",")
	w, err := strconv.ParseInt(wall, 10, 64)
	if err != nil {
		return hlc.Timestamp{}, err
	}
	var l int64
	if logical != "" {
		if l, err = strconv.ParseInt(logical, 10, 32); err != nil {
			return hlc.Timestamp{}, err
		}
	}
	return hlc.Timestamp{WallTime: w * 1e9, Logical: int32(l)}, nil
}

// fmtTS is the inverse of parseTS for whole seconds; other timestamps use
// hlc's form.
func fmtTS(ts hlc.Timestamp) string {
	if ts == hlc.MaxTimestamp {
		return "max"
	}
	if ts.WallTime%1e9 != 0 {
		return ts.String()
	}
	if ts.Logical == 0 {
		return strconv.FormatInt(ts.WallTime/1e9, 10)
	}
	return fmt.Sprintf("%d,%d", ts.WallTime/1e9, ts.Logical)
}

func fmtKey(k storage.MVCCKey) string {
	if !k.IsVersioned() {
		return fmt.Sprintf("%q", k.Key)
	}
	return fmt.Sprintf("%q@%s", k.Key, fmtTS(k.Timestamp))
}
