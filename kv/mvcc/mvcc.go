package mvcc

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

// ErrCorruptValue reports a stored value that does not decode.
var ErrCorruptValue = errors.New("mvcc: corrupt value")

// Stored value tags. A versioned value is empty (tombstone) or valueTag +
// payload; intent metadata is metaTag + kvpb.AppendTxnMeta.
const (
	valueTag = 0x01
	metaTag  = 0x02
)

func encodeValue(v []byte) []byte {
	if v == nil {
		return nil
	}
	out := make([]byte, 1+len(v))
	out[0] = valueTag
	copy(out[1:], v)
	return out
}

// decodeValue returns the payload (nil for a tombstone), copied.
func decodeValue(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] != valueTag {
		return nil, fmt.Errorf("%w: unknown value tag %#x", ErrCorruptValue, raw[0])
	}
	return append([]byte{}, raw[1:]...), nil
}

func encodeMeta(m *kvpb.TxnMeta) []byte {
	return kvpb.AppendTxnMeta([]byte{metaTag}, m)
}

func decodeMeta(raw []byte) (kvpb.TxnMeta, error) {
	if len(raw) == 0 || raw[0] != metaTag {
		return kvpb.TxnMeta{}, fmt.Errorf("%w: not intent metadata", ErrCorruptValue)
	}
	m, err := kvpb.DecodeTxnMeta(raw[1:])
	if err != nil {
		// Wrap both: callers test for either sentinel.
		return kvpb.TxnMeta{}, fmt.Errorf("%w: intent metadata: %w", ErrCorruptValue, err)
	}
	return m, nil
}

// ReadOptions tune a read.
type ReadOptions struct {
	// Txn, when set, makes its own intents visible (at any timestamp).
	Txn *kvpb.Transaction
	// UncertaintyLimit: a committed value in (ts, UncertaintyLimit] fails the
	// read with ReadWithinUncertaintyIntervalError, and an intent at or below
	// it conflicts. Empty means no uncertainty.
	UncertaintyLimit hlc.Timestamp
	// Inconsistent skips other transactions' intents instead of reporting
	// them.
	Inconsistent bool
}

func (o *ReadOptions) ownIntent(m *kvpb.TxnMeta) bool {
	return o.Txn != nil && o.Txn.ID == m.ID
}

func pointIter(r storage.Reader, key []byte) (*storage.Iterator, error) {
	return r.NewIter(storage.IterOptions{LowerBound: key, UpperBound: kvpb.Key(key).Next()})
}

// reader holds the state of one read: it accumulates conflicting intents so
// that a scan can report all of them at once.
type reader struct {
	it      *storage.Iterator
	ts      hlc.Timestamp
	opts    ReadOptions
	intents []kvpb.Intent
}

func (rd *reader) seekLimit() hlc.Timestamp {
	if rd.ts.Less(rd.opts.UncertaintyLimit) {
		return rd.opts.UncertaintyLimit
	}
	return rd.ts
}

// readKey resolves the visible value of the user key the iterator is
// positioned at (on its first entry). It leaves the iterator somewhere
// within the key's entries or past them. found=false with nil error means
// absent or deleted at ts.
func (rd *reader) readKey(key []byte) (val []byte, valTs hlc.Timestamp, found bool, err error) {
	it := rd.it
	k := it.Key()
	var prov hlc.Timestamp // provisional version of an intent we read past
	if !k.IsVersioned() {
		raw, err := it.Value()
		if err != nil {
			return nil, hlc.Timestamp{}, false, err
		}
		meta, err := decodeMeta(raw)
		if err != nil {
			return nil, hlc.Timestamp{}, false, fmt.Errorf("intent on %q: %w", key, err)
		}
		switch {
		case rd.opts.ownIntent(&meta):
			if !it.SeekGE(storage.MVCCKey{Key: key, Timestamp: meta.WriteTimestamp}) ||
				!bytes.Equal(it.Key().Key, key) || it.Key().Timestamp != meta.WriteTimestamp {
				if err := it.Err(); err != nil {
					return nil, hlc.Timestamp{}, false, err
				}
				return nil, hlc.Timestamp{}, false, fmt.Errorf("%w: intent on %q without provisional value", ErrCorruptValue, key)
			}
			raw, err := it.Value()
			if err != nil {
				return nil, hlc.Timestamp{}, false, err
			}
			v, err := decodeValue(raw)
			return v, meta.WriteTimestamp, v != nil, err
		case !rd.opts.Inconsistent && meta.WriteTimestamp.LessEq(rd.seekLimit()):
			rd.intents = append(rd.intents, kvpb.Intent{Key: append(kvpb.Key(nil), key...), Txn: meta})
			return nil, hlc.Timestamp{}, false, nil
		}
		// The intent is above what we read (or ignored): read below it,
		// skipping its provisional version.
		prov = meta.WriteTimestamp
		if !it.Next() {
			return nil, hlc.Timestamp{}, false, it.Err()
		}
		k = it.Key()
		if !bytes.Equal(k.Key, key) {
			return nil, hlc.Timestamp{}, false, nil
		}
	}
	limit := rd.seekLimit()
	if limit.IsEmpty() {
		// Nothing is visible at the zero timestamp, and seeking to it
		// would land on the unversioned slot.
		return nil, hlc.Timestamp{}, false, nil
	}
	if limit.Less(k.Timestamp) {
		if !it.SeekGE(storage.MVCCKey{Key: key, Timestamp: limit}) {
			return nil, hlc.Timestamp{}, false, it.Err()
		}
		k = it.Key()
	}
	for bytes.Equal(k.Key, key) {
		if !k.IsVersioned() {
			return nil, hlc.Timestamp{}, false, fmt.Errorf("%w: unversioned entry among versions of %q", ErrCorruptValue, key)
		}
		if k.Timestamp == prov {
			if !it.Next() {
				return nil, hlc.Timestamp{}, false, it.Err()
			}
			k = it.Key()
			continue
		}
		if k.Timestamp.LessEq(rd.ts) {
			raw, err := it.Value()
			if err != nil {
				return nil, hlc.Timestamp{}, false, err
			}
			v, err := decodeValue(raw)
			return v, k.Timestamp, v != nil, err
		}
		if k.Timestamp.LessEq(rd.opts.UncertaintyLimit) {
			return nil, hlc.Timestamp{}, false, &kvpb.ReadWithinUncertaintyIntervalError{
				Key: append(kvpb.Key(nil), key...), ReadTimestamp: rd.ts,
				ExistingTimestamp: k.Timestamp, LocalLimit: rd.opts.UncertaintyLimit,
			}
		}
		if !it.Next() {
			return nil, hlc.Timestamp{}, false, it.Err()
		}
		k = it.Key()
	}
	return nil, hlc.Timestamp{}, false, nil
}

func (rd *reader) intentError() error {
	if len(rd.intents) == 0 {
		return nil
	}
	return &kvpb.WriteIntentError{Intents: rd.intents}
}

// Get reads key at ts. It returns the value (nil if absent or deleted) and
// the timestamp of the version read.
func Get(r storage.Reader, key []byte, ts hlc.Timestamp, opts ReadOptions) ([]byte, hlc.Timestamp, error) {
	it, err := pointIter(r, key)
	if err != nil {
		return nil, hlc.Timestamp{}, err
	}
	defer it.Close()
	if !it.SeekGE(storage.MVCCKey{Key: key}) {
		return nil, hlc.Timestamp{}, it.Err()
	}
	rd := reader{it: it, ts: ts, opts: opts}
	v, vts, found, err := rd.readKey(key)
	if err != nil {
		return nil, hlc.Timestamp{}, err
	}
	if err := rd.intentError(); err != nil {
		return nil, hlc.Timestamp{}, err
	}
	if !found {
		return nil, hlc.Timestamp{}, nil
	}
	return v, vts, nil
}

// maxIntentsPerScan bounds how many conflicts one scan collects before
// reporting them.
const maxIntentsPerScan = 100

// Scan reads the live keys of [start, end) at ts in order (reverse when
// asked), at most maxKeys of them (0 = all). When it stops early it returns
// the span that remains.
func Scan(
	r storage.Reader, start, end []byte, ts hlc.Timestamp, maxKeys int64, reverse bool, opts ReadOptions,
) ([]kvpb.KeyValue, *kvpb.Span, error) {
	it, err := r.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	rd := reader{it: it, ts: ts, opts: opts}
	var rows []kvpb.KeyValue
	var resume *kvpb.Span
	if !reverse {
		ok := it.SeekGE(storage.MVCCKey{Key: start})
		for ok {
			key := append(kvpb.Key(nil), it.Key().Key...)
			if maxKeys > 0 && int64(len(rows)) == maxKeys {
				resume = &kvpb.Span{Key: key, EndKey: append(kvpb.Key(nil), end...)}
				break
			}
			v, vts, found, err := rd.readKey(key)
			if err != nil {
				return nil, nil, err
			}
			if found {
				rows = append(rows, kvpb.KeyValue{Key: key, Value: v, Timestamp: vts})
			}
			if len(rd.intents) >= maxIntentsPerScan {
				break
			}
			switch {
			case !it.Valid():
				ok = it.Err() == nil && it.SeekGE(storage.MVCCKey{Key: key.Next()})
			case bytes.Equal(it.Key().Key, key):
				ok = it.NextPrefix()
			default:
				ok = true // readKey already stepped onto the next key
			}
		}
	} else {
		ok := it.SeekLT(storage.MVCCKey{Key: end})
		for ok {
			key := append(kvpb.Key(nil), it.Key().Key...)
			if maxKeys > 0 && int64(len(rows)) == maxKeys {
				resume = &kvpb.Span{Key: append(kvpb.Key(nil), start...), EndKey: key.Next()}
				break
			}
			if !it.SeekGE(storage.MVCCKey{Key: key}) {
				break
			}
			v, vts, found, err := rd.readKey(key)
			if err != nil {
				return nil, nil, err
			}
			if found {
				rows = append(rows, kvpb.KeyValue{Key: key, Value: v, Timestamp: vts})
			}
			if len(rd.intents) >= maxIntentsPerScan {
				break
			}
			ok = it.SeekLT(storage.MVCCKey{Key: key})
		}
	}
	if err := it.Err(); err != nil {
		return nil, nil, err
	}
	if err := rd.intentError(); err != nil {
		return nil, nil, err
	}
	return rows, resume, nil
}

// keyState is what a writer needs to know about a key.
type keyState struct {
	meta      *kvpb.TxnMeta
	newestTs  hlc.Timestamp // newest committed version, empty if none
	newestVal []byte        // its payload (nil for tombstone or none)
	provVal   []byte        // provisional value of the intent, if any
}

func readKeyState(r storage.Reader, key []byte) (keyState, error) {
	var st keyState
	it, err := pointIter(r, key)
	if err != nil {
		return st, err
	}
	defer it.Close()
	ok := it.SeekGE(storage.MVCCKey{Key: key})
	if ok && !it.Key().IsVersioned() {
		raw, err := it.Value()
		if err != nil {
			return st, err
		}
		m, err := decodeMeta(raw)
		if err != nil {
			return st, fmt.Errorf("intent on %q: %w", key, err)
		}
		st.meta = &m
		ok = it.Next()
		if ok && it.Key().Timestamp == m.WriteTimestamp {
			raw, err := it.Value()
			if err != nil {
				return st, err
			}
			if st.provVal, err = decodeValue(raw); err != nil {
				return st, err
			}
			ok = it.Next()
		} else {
			return st, fmt.Errorf("%w: intent on %q without provisional value", ErrCorruptValue, key)
		}
	}
	if ok {
		raw, err := it.Value()
		if err != nil {
			return st, err
		}
		st.newestTs = it.Key().Timestamp
		if st.newestVal, err = decodeValue(raw); err != nil {
			return st, err
		}
	}
	return st, it.Err()
}

// write puts value (nil = tombstone) at key, as an intent of txn if txn is
// set. ts is the requested write timestamp; the returned timestamp is the one
// used, moved above any newer committed version (write-too-old).
func write(rw storage.ReadWriter, key, value []byte, txn *kvpb.Transaction, ts hlc.Timestamp, st keyState) (hlc.Timestamp, error) {
	if st.meta != nil {
		if txn == nil || st.meta.ID != txn.ID {
			return hlc.Timestamp{}, &kvpb.WriteIntentError{Intents: []kvpb.Intent{{Key: append(kvpb.Key(nil), key...), Txn: *st.meta}}}
		}
		if ts.Less(st.meta.WriteTimestamp) {
			ts = st.meta.WriteTimestamp
		}
		if ts != st.meta.WriteTimestamp {
			if err := rw.Clear(storage.MVCCKey{Key: key, Timestamp: st.meta.WriteTimestamp}); err != nil {
				return hlc.Timestamp{}, err
			}
		}
	} else if !st.newestTs.IsEmpty() && ts.LessEq(st.newestTs) {
		if st.newestTs == hlc.MaxTimestamp {
			// Next would wrap to a negative wall time: a key that no
			// longer decodes.
			return hlc.Timestamp{}, fmt.Errorf("mvcc: cannot write %q above %s", key, st.newestTs)
		}
		ts = st.newestTs.Next()
	}
	if err := rw.Put(storage.MVCCKey{Key: key, Timestamp: ts}, encodeValue(value)); err != nil {
		return hlc.Timestamp{}, err
	}
	if txn != nil {
		m := txn.TxnMeta
		m.WriteTimestamp = ts
		if err := rw.Put(storage.MVCCKey{Key: key}, encodeMeta(&m)); err != nil {
			return hlc.Timestamp{}, err
		}
	}
	return ts, nil
}

// Put writes value at key (see write). A nil value writes a tombstone.
func Put(rw storage.ReadWriter, key, value []byte, txn *kvpb.Transaction, ts hlc.Timestamp) (hlc.Timestamp, error) {
	st, err := readKeyState(rw, key)
	if err != nil {
		return hlc.Timestamp{}, err
	}
	return write(rw, key, value, txn, ts, st)
}

// Delete writes a tombstone and reports whether a live value was there (as
// the writer sees it: its own intent, else the newest committed version).
func Delete(rw storage.ReadWriter, key []byte, txn *kvpb.Transaction, ts hlc.Timestamp) (bool, hlc.Timestamp, error) {
	st, err := readKeyState(rw, key)
	if err != nil {
		return false, hlc.Timestamp{}, err
	}
	found := st.newestVal != nil
	if st.meta != nil && txn != nil && st.meta.ID == txn.ID {
		found = st.provVal != nil
	}
	wts, err := write(rw, key, nil, txn, ts, st)
	return found, wts, err
}

// ConditionalPut writes value if the newest value (the writer's own intent,
// else the newest committed version, whatever its timestamp) equals exp; exp
// nil requires the key to be absent.
func ConditionalPut(rw storage.ReadWriter, key, value, exp []byte, txn *kvpb.Transaction, ts hlc.Timestamp) (hlc.Timestamp, error) {
	st, err := readKeyState(rw, key)
	if err != nil {
		return hlc.Timestamp{}, err
	}
	actual := st.newestVal
	if st.meta != nil {
		if txn == nil || st.meta.ID != txn.ID {
			return hlc.Timestamp{}, &kvpb.WriteIntentError{Intents: []kvpb.Intent{{Key: append(kvpb.Key(nil), key...), Txn: *st.meta}}}
		}
		actual = st.provVal
	}
	if (exp == nil) != (actual == nil) || !bytes.Equal(exp, actual) {
		return hlc.Timestamp{}, &kvpb.ConditionFailedError{ActualValue: actual}
	}
	return write(rw, key, value, txn, ts, st)
}

// DeleteRange writes tombstones over every key live at readTs in [start,
// end) and returns the keys. It reads like a Scan (intents conflict) and
// writes at ts, returning the (possibly moved) write timestamp.
func DeleteRange(
	rw storage.ReadWriter, start, end []byte, txn *kvpb.Transaction, readTs, ts hlc.Timestamp, opts ReadOptions,
) ([]kvpb.Key, hlc.Timestamp, error) {
	rows, _, err := Scan(rw, start, end, readTs, 0, false, opts)
	if err != nil {
		return nil, hlc.Timestamp{}, err
	}
	keys := make([]kvpb.Key, 0, len(rows))
	for _, row := range rows {
		wts, err := Put(rw, row.Key, nil, txn, ts)
		if err != nil {
			return nil, hlc.Timestamp{}, err
		}
		ts = hlc.Max(ts, wts)
		keys = append(keys, row.Key)
	}
	return keys, ts, nil
}

// ResolveIntent finalizes txn's intent on key, if it holds one: COMMITTED
// moves the provisional value to commitTs and drops the metadata, ABORTED
// removes both. It reports whether there was an intent of txn.
func ResolveIntent(rw storage.ReadWriter, key []byte, txn kvpb.TxnMeta, status kvpb.TxnStatus, commitTs hlc.Timestamp) (bool, error) {
	st, err := readKeyState(rw, key)
	if err != nil {
		return false, err
	}
	if st.meta == nil || st.meta.ID != txn.ID {
		return false, nil
	}
	return true, resolve(rw, key, st, status, commitTs)
}

func resolve(rw storage.Writer, key []byte, st keyState, status kvpb.TxnStatus, commitTs hlc.Timestamp) error {
	// Refuse before writing anything: a caller writing straight to an
	// engine must not be left with the metadata gone and the provisional
	// value looking committed.
	switch status {
	case kvpb.COMMITTED:
		if commitTs.Less(st.meta.WriteTimestamp) {
			return fmt.Errorf("mvcc: commit timestamp %s below intent timestamp %s on %q", commitTs, st.meta.WriteTimestamp, key)
		}
	case kvpb.ABORTED:
	default:
		return fmt.Errorf("mvcc: cannot resolve intent to %s", status)
	}
	if err := rw.Clear(storage.MVCCKey{Key: key}); err != nil {
		return err
	}
	prov := storage.MVCCKey{Key: key, Timestamp: st.meta.WriteTimestamp}
	if status == kvpb.ABORTED {
		return rw.Clear(prov)
	}
	if commitTs == st.meta.WriteTimestamp {
		return nil
	}
	if err := rw.Clear(prov); err != nil {
		return err
	}
	return rw.Put(storage.MVCCKey{Key: key, Timestamp: commitTs}, encodeValue(st.provVal))
}

// ResolveIntentRange resolves every intent of txn in [start, end).
func ResolveIntentRange(rw storage.ReadWriter, start, end []byte, txn kvpb.TxnMeta, status kvpb.TxnStatus, commitTs hlc.Timestamp) (int, error) {
	var keys [][]byte
	err := forEachIntent(rw, start, end, func(key []byte, m kvpb.TxnMeta) error {
		if m.ID == txn.ID {
			keys = append(keys, append([]byte(nil), key...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if _, err := ResolveIntent(rw, k, txn, status, commitTs); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func forEachIntent(r storage.Reader, start, end []byte, fn func(key []byte, m kvpb.TxnMeta) error) error {
	it, err := r.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.SeekGE(storage.MVCCKey{Key: start}); ok; ok = it.NextPrefix() {
		if it.Key().IsVersioned() {
			continue
		}
		raw, err := it.Value()
		if err != nil {
			return err
		}
		m, err := decodeMeta(raw)
		if err != nil {
			return fmt.Errorf("intent on %q: %w", it.Key().Key, err)
		}
		if err := fn(it.Key().Key, m); err != nil {
			return err
		}
	}
	return it.Err()
}

// Refresh checks that no value was committed in [start, end) (end nil: the
// key start) in (from, to], and that no other transaction holds an intent
// there at or below to. txn's own intents are ignored.
func Refresh(r storage.Reader, start, end []byte, from, to hlc.Timestamp, txn kvpb.TxnID) error {
	if end == nil {
		end = kvpb.Key(start).Next()
	}
	it, err := r.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return err
	}
	defer it.Close()
	var own hlc.Timestamp // provisional version of our own intent on this key
	var ownKey []byte
	for ok := it.SeekGE(storage.MVCCKey{Key: start}); ok; ok = it.Next() {
		k := it.Key()
		if !k.IsVersioned() {
			raw, err := it.Value()
			if err != nil {
				return err
			}
			m, err := decodeMeta(raw)
			if err != nil {
				return fmt.Errorf("intent on %q: %w", k.Key, err)
			}
			if m.ID == txn {
				own, ownKey = m.WriteTimestamp, append(ownKey[:0], k.Key...)
				continue
			}
			if m.WriteTimestamp.LessEq(to) {
				return &kvpb.RefreshFailedError{Key: append(kvpb.Key(nil), k.Key...), Timestamp: m.WriteTimestamp, Intent: true}
			}
			continue
		}
		if k.Timestamp == own && bytes.Equal(k.Key, ownKey) {
			continue
		}
		if from.Less(k.Timestamp) && k.Timestamp.LessEq(to) {
			return &kvpb.RefreshFailedError{Key: append(kvpb.Key(nil), k.Key...), Timestamp: k.Timestamp}
		}
	}
	return it.Err()
}

// GarbageCollect removes, for each key of [start, end), every committed
// version shadowed by a newer version at or below threshold, and the newest
// version at or below threshold too when it is a tombstone. Intents and
// their provisional values are kept. Reads at or above threshold are
// unaffected.
func GarbageCollect(rw storage.ReadWriter, start, end []byte, threshold hlc.Timestamp) (int, error) {
	it, err := rw.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return 0, err
	}
	var doomed []storage.MVCCKey
	var curKey []byte
	var prov hlc.Timestamp
	seenVisible := false // passed the newest version <= threshold of curKey
	for ok := it.SeekGE(storage.MVCCKey{Key: start}); ok; ok = it.Next() {
		k := it.Key()
		if !bytes.Equal(k.Key, curKey) {
			curKey = append(curKey[:0], k.Key...)
			prov, seenVisible = hlc.Timestamp{}, false
		}
		if !k.IsVersioned() {
			raw, err := it.Value()
			if err != nil {
				it.Close()
				return 0, err
			}
			m, err := decodeMeta(raw)
			if err != nil {
				it.Close()
				return 0, fmt.Errorf("intent on %q: %w", k.Key, err)
			}
			prov = m.WriteTimestamp
			continue
		}
		if k.Timestamp == prov || threshold.Less(k.Timestamp) {
			continue
		}
		key := storage.MVCCKey{Key: append([]byte(nil), k.Key...), Timestamp: k.Timestamp}
		if seenVisible {
			doomed = append(doomed, key)
			continue
		}
		seenVisible = true
		raw, err := it.Value()
		if err != nil {
			it.Close()
			return 0, err
		}
		if len(raw) == 0 { // a tombstone visible at threshold hides nothing anyone can read
			doomed = append(doomed, key)
		}
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := rw.Clear(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// GetUnversioned reads a plain unversioned value (local keys only).
func GetUnversioned(r storage.Reader, key []byte) ([]byte, bool, error) {
	it, err := pointIter(r, key)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	if !it.SeekGE(storage.MVCCKey{Key: key}) || it.Key().IsVersioned() {
		return nil, false, it.Err()
	}
	v, err := it.Value()
	if err != nil {
		return nil, false, err
	}
	return append([]byte(nil), v...), true, nil
}

// PutUnversioned writes a plain unversioned value (local keys only).
func PutUnversioned(w storage.Writer, key, value []byte) error {
	return w.Put(storage.MVCCKey{Key: key}, value)
}

// ClearUnversioned removes a plain unversioned value.
func ClearUnversioned(w storage.Writer, key []byte) error {
	return w.Clear(storage.MVCCKey{Key: key})
}
