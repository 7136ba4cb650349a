package kvpb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/outpostdb/outpost/kv/hlc"
)

// ErrCorruptValue is wrapped by every decoding failure of a stored structure.
var ErrCorruptValue = errors.New("kvpb: corrupt encoded value")

// Encoding versions prefix every stored structure so that formats can evolve.
const (
	txnMetaVersion     = 1
	transactionVersion = 1
	maxDecodedSlice    = 1 << 20 // bound allocations driven by corrupt lengths
)

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)         { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(v []byte)     { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) ts(t hlc.Timestamp) { e.varint(t.WallTime); e.varint(int64(t.Logical)) }

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorruptValue, what)
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil || len(d.b) < 1 {
		d.fail("truncated byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	var buf [binary.MaxVarintLen64]byte
	if n <= 0 || binary.PutUvarint(buf[:], v) != n { // refuse padded forms: decoding is 1:1
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	var buf [binary.MaxVarintLen64]byte
	if n <= 0 || binary.PutVarint(buf[:], v) != n {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v != int64(int32(v)) {
		d.fail("int32 out of range")
		return 0
	}
	return int32(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length past end")
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) ts() hlc.Timestamp {
	w := d.varint()
	l := d.varint()
	if w < 0 || l < 0 || l > 1<<31-1 {
		d.fail("bad timestamp")
	}
	return hlc.Timestamp{WallTime: w, Logical: int32(l)}
}

func (d *decoder) count() int {
	n := d.uvarint()
	if n > maxDecodedSlice || n > uint64(len(d.b)) {
		d.fail("count too large")
		return 0
	}
	return int(n)
}

func (e *encoder) txnMeta(m *TxnMeta) {
	e.b = append(e.b, m.ID[:]...)
	e.bytes(m.Key)
	e.ts(m.WriteTimestamp)
	e.ts(m.MinTimestamp)
	e.varint(int64(m.Priority))
}

func (d *decoder) txnMeta(m *TxnMeta) {
	if d.err == nil && len(d.b) < len(m.ID) {
		d.fail("truncated txn id")
	}
	if d.err != nil {
		return
	}
	copy(m.ID[:], d.b)
	d.b = d.b[len(m.ID):]
	m.Key = d.bytes()
	m.WriteTimestamp = d.ts()
	m.MinTimestamp = d.ts()
	m.Priority = d.int32()
}

// AppendTxnMeta appends the stored form of m (used in intent metadata).
func AppendTxnMeta(b []byte, m *TxnMeta) []byte {
	e := encoder{b: append(b, txnMetaVersion)}
	e.txnMeta(m)
	return e.b
}

// DecodeTxnMeta decodes what AppendTxnMeta wrote.
func DecodeTxnMeta(b []byte) (TxnMeta, error) {
	var m TxnMeta
	d := decoder{b: b}
	if v := d.u8(); d.err == nil && v != txnMetaVersion {
		return m, fmt.Errorf("%w: unknown txn meta version %d", ErrCorruptValue, v)
	}
	d.txnMeta(&m)
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return m, d.err
}

// AppendTransaction appends the stored form of a transaction record.
func AppendTransaction(b []byte, t *Transaction) []byte {
	e := encoder{b: append(b, transactionVersion)}
	e.txnMeta(&t.TxnMeta)
	e.bytes([]byte(t.Name))
	e.u8(uint8(t.Status))
	e.ts(t.ReadTimestamp)
	e.ts(t.GlobalUncertaintyLimit)
	e.ts(t.LastHeartbeat)
	e.varint(int64(t.Coordinator.NodeID))
	e.uvarint(t.Coordinator.BootID)
	e.uvarint(uint64(len(t.ObservedTimestamps)))
	for _, o := range t.ObservedTimestamps {
		e.varint(int64(o.NodeID))
		e.ts(o.Timestamp)
	}
	e.uvarint(uint64(len(t.LockSpans)))
	for _, s := range t.LockSpans {
		e.bytes(s.Key)
		if s.EndKey == nil {
			e.u8(0)
		} else {
			e.u8(1)
			e.bytes(s.EndKey)
		}
	}
	return e.b
}

// DecodeTransaction decodes what AppendTransaction wrote.
func DecodeTransaction(b []byte) (*Transaction, error) {
	t := &Transaction{}
	d := decoder{b: b}
	if v := d.u8(); d.err == nil && v != transactionVersion {
		return nil, fmt.Errorf("%w: unknown transaction version %d", ErrCorruptValue, v)
	}
	d.txnMeta(&t.TxnMeta)
	t.Name = string(d.bytes())
	if s := d.u8(); s <= uint8(ABORTED) {
		t.Status = TxnStatus(s)
	} else {
		d.fail("bad status")
	}
	t.ReadTimestamp = d.ts()
	t.GlobalUncertaintyLimit = d.ts()
	t.LastHeartbeat = d.ts()
	t.Coordinator.NodeID = d.int32()
	t.Coordinator.BootID = d.uvarint()
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		node := d.int32()
		t.ObservedTimestamps = append(t.ObservedTimestamps, ObservedTimestamp{NodeID: node, Timestamp: d.ts()})
	}
	n = d.count()
	for i := 0; i < n && d.err == nil; i++ {
		s := Span{Key: d.bytes()}
		switch d.u8() {
		case 0:
		case 1:
			if s.EndKey = d.bytes(); s.EndKey == nil {
				s.EndKey = Key{} // an empty end key is not a point span
			}
		default:
			d.fail("bad span tag")
		}
		t.LockSpans = append(t.LockSpans, s)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}
