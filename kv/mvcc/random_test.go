package mvcc

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

// This file compares the mvcc package with a trivial reference model on
// random histories: committed puts, deletes, conditional puts and delete
// ranges (non-transactional, with write-too-old), and the intents of one
// transaction at a time, committed or aborted. Reads (Get with uncertainty,
// Scan forward and reverse with limits, followed through their resume spans,
// Refresh) at random timestamps must agree with the model, before and after
// a GarbageCollect at a random threshold (after it, only at or above the
// threshold). The same history runs three ways, which must not matter: on
// the engine, through one committed batch per operation, and in one
// uncommitted batch that is also the reader.

type refVersion struct {
	ts  hlc.Timestamp
	val []byte // nil: tombstone
}

// refModel is every committed version of every key, newest first, and the
// intents of the open transaction.
type refModel struct {
	versions map[string][]refVersion
	intents  map[string]refVersion
}

func newRefModel() *refModel {
	return &refModel{versions: map[string][]refVersion{}, intents: map[string]refVersion{}}
}

// keys returns the keys in [start, end) with any data, in scan order.
func (m *refModel) keys(start, end string, reverse bool) []string {
	var ks []string
	seen := map[string]bool{}
	for k := range m.versions {
		seen[k] = true
	}
	for k := range m.intents {
		seen[k] = true
	}
	for k := range seen {
		if start <= k && k < end {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	if reverse {
		slices.Reverse(ks)
	}
	return ks
}

// commit adds a committed version, moved above the newest one
// (write-too-old), and returns its timestamp.
func (m *refModel) commit(key string, val []byte, ts hlc.Timestamp) hlc.Timestamp {
	vs := m.versions[key]
	if len(vs) > 0 && ts.LessEq(vs[0].ts) {
		ts = vs[0].ts.Next()
	}
	m.versions[key] = append([]refVersion{{ts: ts, val: val}}, vs...)
	return ts
}

func (m *refModel) newestVal(key string) []byte {
	if vs := m.versions[key]; len(vs) > 0 {
		return vs[0].val
	}
	return nil
}

type refOpts struct {
	own          bool // the reader is the transaction holding the intents
	inconsistent bool
	unc          hlc.Timestamp
}

// refRead is the outcome of reading one key.
type refRead struct {
	val       []byte
	ts        hlc.Timestamp
	found     bool
	conflict  bool          // another transaction's intent
	uncertain hlc.Timestamp // a version in the uncertainty interval
}

func (m *refModel) read(key string, ts hlc.Timestamp, o refOpts) refRead {
	limit := hlc.Max(ts, o.unc)
	if in, ok := m.intents[key]; ok {
		if o.own {
			return refRead{val: in.val, ts: in.ts, found: in.val != nil}
		}
		if !o.inconsistent && in.ts.LessEq(limit) {
			return refRead{conflict: true}
		}
	}
	for _, v := range m.versions[key] {
		if v.ts.LessEq(ts) {
			return refRead{val: v.val, ts: v.ts, found: v.val != nil}
		}
		if v.ts.LessEq(o.unc) {
			return refRead{uncertain: v.ts}
		}
	}
	return refRead{}
}

// scan reads [start, end) in order, stopping after maxKeys rows (0: no
// limit). Uncertainty is not modelled for scans.
func (m *refModel) scan(start, end string, ts hlc.Timestamp, maxKeys int, reverse bool, o refOpts) (rows []kvpb.KeyValue, conflicts []string) {
	for _, k := range m.keys(start, end, reverse) {
		if maxKeys > 0 && len(rows) == maxKeys {
			break
		}
		r := m.read(k, ts, o)
		switch {
		case r.conflict:
			conflicts = append(conflicts, k)
		case r.found:
			rows = append(rows, kvpb.KeyValue{Key: kvpb.Key(k), Value: r.val, Timestamp: r.ts})
		}
	}
	return rows, conflicts
}

// refresh returns the failure Refresh should report, if any.
func (m *refModel) refresh(start, end string, from, to hlc.Timestamp, own bool) *kvpb.RefreshFailedError {
	for _, k := range m.keys(start, end, false) {
		if in, ok := m.intents[k]; ok && !own && in.ts.LessEq(to) {
			return &kvpb.RefreshFailedError{Key: kvpb.Key(k), Timestamp: in.ts, Intent: true}
		}
		for _, v := range m.versions[k] {
			if from.Less(v.ts) && v.ts.LessEq(to) {
				return &kvpb.RefreshFailedError{Key: kvpb.Key(k), Timestamp: v.ts}
			}
		}
	}
	return nil
}

// randHistory drives one random history against an engine and the model.
type randHistory struct {
	t     *testing.T
	rng   *rand.Rand
	mode  int // 0: engine, 1: a committed batch per op, 2: one open batch
	eng   *storage.Pebble
	open  *storage.Batch // mode 2
	model *refModel
	now   hlc.Timestamp // the clock: writes happen around it
	txn   *kvpb.Transaction
	txnN  int
	ops   []string // the history so far, for failure messages
}

var randKeys = []string{"a", "b", "b\x00", "c", "d", "e", "f"}

func (h *randHistory) key() string { return randKeys[h.rng.IntN(len(randKeys))] }

func (h *randHistory) value() []byte {
	if h.rng.IntN(8) == 0 {
		return []byte{}
	}
	return []byte(fmt.Sprintf("v%d", h.rng.IntN(1000)))
}

// ts returns a timestamp around the clock: usually ahead of it, sometimes
// behind (a write-too-old).
func (h *randHistory) ts() hlc.Timestamp {
	if h.rng.IntN(6) == 0 {
		return hlc.Timestamp{WallTime: max(1, h.now.WallTime-int64(h.rng.IntN(4))), Logical: int32(h.rng.IntN(3))}
	}
	h.now = hlc.Timestamp{WallTime: h.now.WallTime + int64(h.rng.IntN(3)), Logical: int32(h.rng.IntN(3))}
	if h.now.IsEmpty() {
		h.now.WallTime = 1
	}
	return h.now
}

// readTS returns a read timestamp in [lo, now + 3].
func (h *randHistory) readTS(lo hlc.Timestamp) hlc.Timestamp {
	hi := max(h.now.WallTime, lo.WallTime) + 3
	w := lo.WallTime + h.rng.Int64N(hi-lo.WallTime+1)
	ts := hlc.Timestamp{WallTime: w, Logical: int32(h.rng.IntN(3))}
	return hlc.Max(ts, lo)
}

func (h *randHistory) reader() storage.Reader {
	if h.open != nil {
		return h.open
	}
	if h.rng.IntN(4) == 0 {
		// An indexed batch without writes reads like the engine.
		b := h.eng.NewBatch()
		h.t.Cleanup(b.Close)
		return b
	}
	return h.eng
}

// write runs fn on the writer of the mode.
func (h *randHistory) write(fn func(rw storage.ReadWriter) error) error {
	switch h.mode {
	case 1:
		b := h.eng.NewBatch()
		defer b.Close()
		if err := fn(b); err != nil {
			return err
		}
		return b.Commit(false)
	case 2:
		return fn(h.open)
	}
	return fn(h.eng)
}

func (h *randHistory) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("mode %d, after:\n  %s\n%s", h.mode, strings.Join(h.ops, "\n  "), fmt.Sprintf(format, args...))
}

func (h *randHistory) log(format string, args ...any) {
	h.ops = append(h.ops, fmt.Sprintf(format, args...))
}

func wantIntentError(err error, keys []string) string {
	var wie *kvpb.WriteIntentError
	if !errors.As(err, &wie) {
		return fmt.Sprintf("got %v, want a WriteIntentError on %q", err, keys)
	}
	var got []string
	for _, in := range wie.Intents {
		got = append(got, string(in.Key))
	}
	if !slices.Equal(got, keys) {
		return fmt.Sprintf("intents on %q, want %q", got, keys)
	}
	return ""
}

// step runs one random write.
func (h *randHistory) step() {
	switch op := h.rng.IntN(20); {
	case op < 6: // put or delete
		k, ts := h.key(), h.ts()
		var v []byte
		if op < 4 {
			v = h.value()
		}
		h.log("put %q=%q at %s", k, v, ts)
		var wts hlc.Timestamp
		err := h.write(func(rw storage.ReadWriter) (err error) {
			if v == nil {
				_, wts, err = Delete(rw, []byte(k), nil, ts)
			} else {
				wts, err = Put(rw, []byte(k), v, nil, ts)
			}
			return err
		})
		if _, ok := h.model.intents[k]; ok {
			if s := wantIntentError(err, []string{k}); s != "" {
				h.fatalf("%s", s)
			}
			return
		}
		if err != nil {
			h.fatalf("%v", err)
		}
		if want := h.model.commit(k, v, ts); wts != want {
			h.fatalf("written at %s, want %s", wts, want)
		}

	case op < 8: // conditional put, expecting the right value or not
		k, ts, v := h.key(), h.ts(), h.value()
		exp := h.model.newestVal(k)
		if h.rng.IntN(3) == 0 {
			exp = h.value()
		}
		h.log("cput %q=%q exp %q at %s", k, v, exp, ts)
		var wts hlc.Timestamp
		err := h.write(func(rw storage.ReadWriter) (err error) {
			wts, err = ConditionalPut(rw, []byte(k), v, exp, nil, ts)
			return err
		})
		actual := h.model.newestVal(k)
		var cfe *kvpb.ConditionFailedError
		switch {
		case h.model.intents[k].ts != (hlc.Timestamp{}):
			if s := wantIntentError(err, []string{k}); s != "" {
				h.fatalf("%s", s)
			}
		case (exp == nil) != (actual == nil) || !bytes.Equal(exp, actual):
			if !errors.As(err, &cfe) || !bytes.Equal(cfe.ActualValue, actual) || (cfe.ActualValue == nil) != (actual == nil) {
				h.fatalf("got %v, want ConditionFailedError with %q", err, actual)
			}
		case err != nil:
			h.fatalf("%v", err)
		default:
			if want := h.model.commit(k, v, ts); wts != want {
				h.fatalf("written at %s, want %s", wts, want)
			}
		}

	case op < 9: // delete range
		start, end := h.span()
		ts := h.ts()
		h.log("delete range [%q, %q) at %s", start, end, ts)
		var deleted []kvpb.Key
		var wts hlc.Timestamp
		err := h.write(func(rw storage.ReadWriter) (err error) {
			deleted, wts, err = DeleteRange(rw, []byte(start), []byte(end), nil, ts, ts, ReadOptions{})
			return err
		})
		rows, conflicts := h.model.scan(start, end, ts, 0, false, refOpts{})
		if len(conflicts) > 0 {
			if s := wantIntentError(err, conflicts); s != "" {
				h.fatalf("%s", s)
			}
			return
		}
		// A key live at ts may carry an intent above ts: the scan reads
		// under it, the write then conflicts. The tombstones written before
		// stay unless the batch is thrown away (mode 1).
		saved := maps.Clone(h.model.versions)
		var want []kvpb.Key
		for _, r := range rows {
			if _, ok := h.model.intents[string(r.Key)]; ok {
				if s := wantIntentError(err, []string{string(r.Key)}); s != "" {
					h.fatalf("%s", s)
				}
				if h.mode == 1 {
					h.model.versions = saved
				}
				return
			}
			ts = hlc.Max(ts, h.model.commit(string(r.Key), nil, ts))
			want = append(want, r.Key)
		}
		if err != nil {
			h.fatalf("%v", err)
		}
		if !slices.EqualFunc(deleted, want, func(a, b kvpb.Key) bool { return bytes.Equal(a, b) }) || wts != ts {
			h.fatalf("deleted %q at %s, want %q at %s", deleted, wts, want, ts)
		}

	case op < 14: // a transactional write, beginning a transaction if needed
		if h.txn == nil {
			h.txnN++
			ts := h.ts()
			h.txn = &kvpb.Transaction{
				TxnMeta:       kvpb.TxnMeta{ID: txnID(fmt.Sprintf("T%d", h.txnN)), WriteTimestamp: ts, MinTimestamp: ts},
				ReadTimestamp: ts,
			}
			h.log("begin txn at %s", ts)
		}
		k := h.key()
		var v []byte
		if h.rng.IntN(4) > 0 {
			v = h.value()
		}
		if len(h.txn.Key) == 0 {
			h.txn.Key = []byte(k)
		}
		ts := h.txn.WriteTimestamp
		h.log("txn put %q=%q at %s", k, v, ts)
		var wts hlc.Timestamp
		err := h.write(func(rw storage.ReadWriter) (err error) {
			if v == nil {
				_, wts, err = Delete(rw, []byte(k), h.txn, ts)
			} else {
				wts, err = Put(rw, []byte(k), v, h.txn, ts)
			}
			return err
		})
		if err != nil {
			h.fatalf("%v", err)
		}
		want := ts
		if in, ok := h.model.intents[k]; ok {
			want = hlc.Max(want, in.ts)
		} else if vs := h.model.versions[k]; len(vs) > 0 && want.LessEq(vs[0].ts) {
			want = vs[0].ts.Next()
		}
		if wts != want {
			h.fatalf("txn write at %s, want %s", wts, want)
		}
		h.model.intents[k] = refVersion{ts: wts, val: v}
		h.txn.WriteTimestamp.Forward(wts)

	case op < 15: // push the transaction
		if h.txn != nil {
			h.txn.WriteTimestamp = h.txn.WriteTimestamp.Add(1)
			h.log("push txn to %s", h.txn.WriteTimestamp)
		}

	default: // end the transaction
		if h.txn == nil {
			return
		}
		status := kvpb.COMMITTED
		if h.rng.IntN(3) == 0 {
			status = kvpb.ABORTED
		}
		commitTs := h.txn.WriteTimestamp
		h.log("end txn %s at %s", status, commitTs)
		var n int
		err := h.write(func(rw storage.ReadWriter) (err error) {
			if h.rng.IntN(2) == 0 {
				n, err = ResolveIntentRange(rw, []byte("a"), []byte("z"), h.txn.TxnMeta, status, commitTs)
				return err
			}
			for k := range h.model.intents {
				ok, err := ResolveIntent(rw, []byte(k), h.txn.TxnMeta, status, commitTs)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
			return nil
		})
		if err != nil || n != len(h.model.intents) {
			h.fatalf("resolved %d of %d intents: %v", n, len(h.model.intents), err)
		}
		for k, in := range h.model.intents {
			if status == kvpb.COMMITTED {
				if got := h.model.commit(k, in.val, commitTs); got != commitTs {
					h.fatalf("model: commit of %q moved to %s", k, got)
				}
			}
		}
		h.model.intents = map[string]refVersion{}
		h.txn = nil
	}
}

func (h *randHistory) span() (string, string) {
	a, b := h.key(), h.key()+"\x00"
	if h.rng.IntN(4) == 0 {
		b = "z"
	}
	if a >= b {
		a = "a"
	}
	return a, b
}

// readOpts picks a reader: the open transaction (sometimes), another
// consistent reader, or an inconsistent one.
func (h *randHistory) readOpts(unc bool, lo hlc.Timestamp) (hlc.Timestamp, ReadOptions, refOpts, string) {
	ts := h.readTS(lo)
	var o ReadOptions
	var ro refOpts
	desc := fmt.Sprintf("at %s", ts)
	switch h.rng.IntN(4) {
	case 0:
		if h.txn != nil {
			o.Txn, ro.own = h.txn, true
			desc += " as txn"
		}
	case 1:
		o.Inconsistent, ro.inconsistent = true, true
		desc += " inconsistent"
	}
	if unc && h.rng.IntN(2) == 0 {
		o.UncertaintyLimit = hlc.Timestamp{WallTime: ts.WallTime + int64(h.rng.IntN(4)), Logical: int32(h.rng.IntN(3))}
		ro.unc = o.UncertaintyLimit
		desc += fmt.Sprintf(" unc %s", o.UncertaintyLimit)
	}
	return ts, o, ro, desc
}

// check runs one random read against the model and returns a rendering of
// the engine's answer.
func (h *randHistory) check(lo hlc.Timestamp) (desc, answer string) {
	r := h.reader()
	switch h.rng.IntN(5) {
	case 0, 1:
		k := h.key()
		ts, o, ro, d := h.readOpts(true, lo)
		desc = fmt.Sprintf("get %q %s", k, d)
		v, vts, err := Get(r, []byte(k), ts, o)
		want := h.model.read(k, ts, ro)
		var rwe *kvpb.ReadWithinUncertaintyIntervalError
		switch {
		case want.conflict:
			if s := wantIntentError(err, []string{k}); s != "" {
				h.fatalf("%s: %s", desc, s)
			}
		case !want.uncertain.IsEmpty():
			if !errors.As(err, &rwe) || rwe.ExistingTimestamp != want.uncertain {
				h.fatalf("%s: got %v, want uncertainty at %s", desc, err, want.uncertain)
			}
		case err != nil:
			h.fatalf("%s: %v", desc, err)
		case want.found != (v != nil) || !bytes.Equal(v, want.val) || (want.found && vts != want.ts) || (!want.found && !vts.IsEmpty()):
			h.fatalf("%s: got %q@%s, want %q@%s (found=%t)", desc, v, vts, want.val, want.ts, want.found)
		}
		return desc, fmt.Sprintf("%q@%s %v", v, vts, err)

	case 2, 3:
		start, end := h.span()
		ts, o, ro, d := h.readOpts(false, lo)
		maxKeys := 0
		if h.rng.IntN(2) == 0 {
			maxKeys = 1 + h.rng.IntN(3)
		}
		reverse := h.rng.IntN(2) == 0
		desc = fmt.Sprintf("scan [%q, %q) %s max %d reverse %t", start, end, d, maxKeys, reverse)
		return desc, h.checkScan(r, desc, start, end, ts, maxKeys, reverse, o, ro)

	default:
		start, end := h.span()
		from := h.readTS(lo)
		to := h.readTS(from)
		own := h.txn != nil && h.rng.IntN(2) == 0
		id := txnID("reader")
		if own {
			id = h.txn.ID
		}
		desc = fmt.Sprintf("refresh [%q, %q) (%s, %s] own %t", start, end, from, to, own)
		err := Refresh(r, []byte(start), []byte(end), from, to, id)
		want := h.model.refresh(start, end, from, to, own)
		var rfe *kvpb.RefreshFailedError
		switch {
		case want == nil && err != nil:
			h.fatalf("%s: %v", desc, err)
		case want != nil && (!errors.As(err, &rfe) || !bytes.Equal(rfe.Key, want.Key) || rfe.Timestamp != want.Timestamp || rfe.Intent != want.Intent):
			h.fatalf("%s: got %v, want %v", desc, err, want)
		}
		return desc, fmt.Sprint(err)
	}
}

// checkScan scans page by page, following resume spans, comparing each page
// with the model and the whole with an unlimited model scan. It renders the
// rows and the error, not the pages: where a page ends depends on which
// keys have any versions left, which GC changes.
func (h *randHistory) checkScan(
	r storage.Reader, desc, start, end string, ts hlc.Timestamp, maxKeys int, reverse bool, o ReadOptions, ro refOpts,
) string {
	var all []kvpb.KeyValue
	span := kvpb.Span{Key: kvpb.Key(start), EndKey: kvpb.Key(end)}
	for page := 0; ; page++ {
		rows, resume, err := Scan(r, span.Key, span.EndKey, ts, int64(maxKeys), reverse, o)
		wantRows, wantConflicts := h.model.scan(string(span.Key), string(span.EndKey), ts, maxKeys, reverse, ro)
		if len(wantConflicts) > 0 {
			if s := wantIntentError(err, wantConflicts); s != "" {
				h.fatalf("%s page %d: %s", desc, page, s)
			}
			return fmt.Sprintf("%v then %v", all, err)
		}
		if err != nil {
			h.fatalf("%s page %d: %v", desc, page, err)
		}
		if !rowsEqual(rows, wantRows) {
			h.fatalf("%s page %d of %s:\n got %v\nwant %v", desc, page, span, rows, wantRows)
		}
		all = append(all, rows...)
		if resume == nil {
			break
		}
		// The resume span is what remains of span beyond the last row.
		if maxKeys == 0 || len(rows) != maxKeys {
			h.fatalf("%s page %d: resume span %s after %d rows", desc, page, resume, len(rows))
		}
		last := rows[len(rows)-1].Key
		if !reverse && (!bytes.Equal(resume.EndKey, span.EndKey) || bytes.Compare(resume.Key, last) <= 0) ||
			reverse && (!bytes.Equal(resume.Key, span.Key) || bytes.Compare(resume.EndKey, last) > 0) {
			h.fatalf("%s page %d: resume span %s does not continue %s after %q", desc, page, resume, span, last)
		}
		span = *resume
	}
	wantAll, _ := h.model.scan(start, end, ts, 0, reverse, ro)
	if !rowsEqual(all, wantAll) {
		h.fatalf("%s: pages give\n %v\nwant %v", desc, all, wantAll)
	}
	return fmt.Sprint(all)
}

func rowsEqual(a, b []kvpb.KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y kvpb.KeyValue) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && (x.Value == nil) == (y.Value == nil) && x.Timestamp == y.Timestamp
	})
}

// checkLayout checks the engine's entries against the model after GC at
// threshold: committed versions above it all kept, at most one at or below
// it per key and never a tombstone, intents with their provisional values.
func (h *randHistory) checkLayout(threshold hlc.Timestamp) {
	it, err := h.reader().NewIter(storage.IterOptions{})
	if err != nil {
		h.fatalf("%v", err)
	}
	defer it.Close()
	got := map[string][]refVersion{}
	metas := map[string]hlc.Timestamp{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		raw, err := it.Value()
		if err != nil {
			h.fatalf("%v", err)
		}
		if !k.IsVersioned() {
			m, err := decodeMeta(raw)
			if err != nil {
				h.fatalf("%v", err)
			}
			metas[string(k.Key)] = m.WriteTimestamp
			continue
		}
		if metas[string(k.Key)] == k.Timestamp {
			continue // the provisional value
		}
		v, err := decodeValue(raw)
		if err != nil {
			h.fatalf("%v", err)
		}
		got[string(k.Key)] = append(got[string(k.Key)], refVersion{ts: k.Timestamp, val: v})
	}
	if err := it.Err(); err != nil {
		h.fatalf("%v", err)
	}
	for k, in := range h.model.intents {
		if metas[k] != in.ts {
			h.fatalf("after GC at %s: intent on %q at %s, want %s", threshold, k, metas[k], in.ts)
		}
	}
	if len(metas) != len(h.model.intents) {
		h.fatalf("after GC at %s: %d intents, want %d", threshold, len(metas), len(h.model.intents))
	}
	for _, k := range randKeys {
		var want []refVersion
		for _, v := range h.model.versions[k] {
			if threshold.Less(v.ts) {
				want = append(want, v)
				continue
			}
			if v.val != nil {
				want = append(want, v)
			}
			break
		}
		if !slices.EqualFunc(got[k], want, func(a, b refVersion) bool {
			return a.ts == b.ts && bytes.Equal(a.val, b.val) && (a.val == nil) == (b.val == nil)
		}) {
			h.fatalf("after GC at %s, %q holds %v, want %v", threshold, k, got[k], want)
		}
	}
}

func TestRandomAgainstModel(t *testing.T) {
	seeds := 48
	if testing.Short() {
		seeds = 9
	}
	for seed := 0; seed < seeds; seed++ {
		mode := seed % 3
		t.Run(fmt.Sprintf("seed=%d/mode=%d", seed, mode), func(t *testing.T) {
			h := &randHistory{t: t, rng: rand.New(rand.NewPCG(uint64(seed), 42)), mode: mode, model: newRefModel()}
			h.eng = storage.OpenInMem()
			defer h.eng.Close()
			if mode == 2 {
				h.open = h.eng.NewBatch()
				defer h.open.Close()
			}
			for i := 0; i < 160; i++ {
				h.step()
				if i%4 == 0 {
					h.check(hlc.Timestamp{})
				}
			}
			for i := 0; i < 60; i++ {
				h.check(hlc.Timestamp{})
			}

			// GC at a random threshold. Reads at or above it must give the
			// same answers before and after; record a set of them first.
			threshold := hlc.Timestamp{WallTime: 1 + h.rng.Int64N(h.now.WallTime+2), Logical: int32(h.rng.IntN(3))}
			if h.txn != nil && h.rng.IntN(2) == 0 {
				threshold = hlc.Max(threshold, h.txn.WriteTimestamp.Add(1)) // GC over the provisional values
			}
			readSeed := h.rng.Uint64()
			h.rng = rand.New(rand.NewPCG(readSeed, 1))
			var before []string
			for i := 0; i < 60; i++ {
				d, a := h.check(threshold)
				before = append(before, d+" => "+a)
			}
			h.log("gc at %s", threshold)
			err := h.write(func(rw storage.ReadWriter) error {
				_, err := GarbageCollect(rw, []byte("a"), []byte("z"), threshold)
				return err
			})
			if err != nil {
				h.fatalf("gc: %v", err)
			}
			h.checkLayout(threshold)
			h.rng = rand.New(rand.NewPCG(readSeed, 1))
			for i := 0; i < 60; i++ {
				d, a := h.check(threshold)
				if b := before[i]; b != d+" => "+a {
					h.fatalf("read changed by GC:\nbefore: %s\n after: %s => %s", b, d, a)
				}
			}
		})
	}
}
