package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/replication/lease"
)

// A command is the payload of a normal raft entry. Every replica applies
// the same commands in the same order, and the outcome of applying one
// (accepted or rejected) depends only on the command and the replicated
// state before it, never on the applying node's clock or memory.
//
// Layout: kind(1) id(8) then, by kind,
//
//	cmdWrite  leaseSeq(8) leaseIndex(8) closedWall(8) closedLogical(4) repr(...)
//	cmdLease  prevSeq(8) holder(4) nowWall(8) nowLogical(4) duration(8)
//	cmdSplit  leaseSeq(8) leaseIndex(8) rhsRangeID(8) splitKey(...)
type commandKind byte

const (
	cmdWrite commandKind = 1
	cmdLease commandKind = 2
	cmdSplit commandKind = 3
)

type command struct {
	kind commandKind
	id   uint64

	// cmdWrite: the leaseholder's evaluated Pebble batch, valid only under
	// the lease it was evaluated under and at most once (leaseIndex must
	// exceed the range's applied lease index).
	leaseSeq   int64
	leaseIndex uint64
	repr       []byte
	// closedTs is the closed timestamp the leaseholder published with the
	// write (see closed.go); empty on re-encoded old commands.
	closedTs hlc.Timestamp

	// cmdSplit (also carries leaseSeq and leaseIndex, checked like a
	// write's): the range ends at splitKey and range rhsRangeID takes over
	// [splitKey, old end).
	rhsRangeID int64
	splitKey   []byte

	// cmdLease: acquire or extend the lease for holder, valid only if the
	// current lease still has sequence prevSeq.
	prevSeq  int64
	holder   int32
	now      hlc.Timestamp
	duration time.Duration
}

const (
	writeHeaderLen = 1 + 8 + 8 + 8 + 12
	splitHeaderLen = 1 + 8 + 8 + 8 + 8
	leaseLen       = 1 + 8 + 8 + 4 + 8 + 4 + 8
)

func (c *command) encode() []byte {
	switch c.kind {
	case cmdWrite:
		b := make([]byte, 0, writeHeaderLen+len(c.repr))
		b = append(b, byte(cmdWrite))
		b = binary.BigEndian.AppendUint64(b, c.id)
		b = binary.BigEndian.AppendUint64(b, uint64(c.leaseSeq))
		b = binary.BigEndian.AppendUint64(b, c.leaseIndex)
		b = binary.BigEndian.AppendUint64(b, uint64(c.closedTs.WallTime))
		b = binary.BigEndian.AppendUint32(b, uint32(c.closedTs.Logical))
		return append(b, c.repr...)
	case cmdSplit:
		b := make([]byte, 0, splitHeaderLen+len(c.splitKey))
		b = append(b, byte(cmdSplit))
		b = binary.BigEndian.AppendUint64(b, c.id)
		b = binary.BigEndian.AppendUint64(b, uint64(c.leaseSeq))
		b = binary.BigEndian.AppendUint64(b, c.leaseIndex)
		b = binary.BigEndian.AppendUint64(b, uint64(c.rhsRangeID))
		return append(b, c.splitKey...)
	case cmdLease:
		b := make([]byte, 0, leaseLen)
		b = append(b, byte(cmdLease))
		b = binary.BigEndian.AppendUint64(b, c.id)
		b = binary.BigEndian.AppendUint64(b, uint64(c.prevSeq))
		b = binary.BigEndian.AppendUint32(b, uint32(c.holder))
		b = binary.BigEndian.AppendUint64(b, uint64(c.now.WallTime))
		b = binary.BigEndian.AppendUint32(b, uint32(c.now.Logical))
		return binary.BigEndian.AppendUint64(b, uint64(c.duration))
	}
	panic(fmt.Sprintf("replication: encode of command kind %d", c.kind))
}

var errBadCommand = errors.New("replication: malformed command")

func decodeCommand(b []byte) (*command, error) {
	if len(b) < 9 {
		return nil, errBadCommand
	}
	c := &command{kind: commandKind(b[0]), id: binary.BigEndian.Uint64(b[1:9])}
	switch c.kind {
	case cmdWrite:
		if len(b) < writeHeaderLen {
			return nil, errBadCommand
		}
		c.leaseSeq = int64(binary.BigEndian.Uint64(b[9:17]))
		c.leaseIndex = binary.BigEndian.Uint64(b[17:25])
		c.closedTs = hlc.Timestamp{WallTime: int64(binary.BigEndian.Uint64(b[25:33])), Logical: int32(binary.BigEndian.Uint32(b[33:37]))}
		c.repr = b[37:]
	case cmdSplit:
		if len(b) <= splitHeaderLen {
			return nil, errBadCommand
		}
		c.leaseSeq = int64(binary.BigEndian.Uint64(b[9:17]))
		c.leaseIndex = binary.BigEndian.Uint64(b[17:25])
		c.rhsRangeID = int64(binary.BigEndian.Uint64(b[25:33]))
		c.splitKey = b[33:]
	case cmdLease:
		if len(b) != leaseLen {
			return nil, errBadCommand
		}
		c.prevSeq = int64(binary.BigEndian.Uint64(b[9:17]))
		c.holder = int32(binary.BigEndian.Uint32(b[17:21]))
		c.now = hlc.Timestamp{WallTime: int64(binary.BigEndian.Uint64(b[21:29])), Logical: int32(binary.BigEndian.Uint32(b[29:33]))}
		c.duration = time.Duration(binary.BigEndian.Uint64(b[33:41]))
	default:
		return nil, errBadCommand
	}
	return c, nil
}

// appliedState is the replicated state a replica persists with every
// command it applies, so that a restart resumes applying after it.
type appliedState struct {
	raftIndex  uint64
	leaseIndex uint64
}

func (a appliedState) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, a.raftIndex)
	return binary.BigEndian.AppendUint64(b, a.leaseIndex)
}

func decodeAppliedState(b []byte) (appliedState, error) {
	if len(b) != 16 {
		return appliedState{}, fmt.Errorf("replication: applied state of %d bytes", len(b))
	}
	return appliedState{raftIndex: binary.BigEndian.Uint64(b), leaseIndex: binary.BigEndian.Uint64(b[8:])}, nil
}

func encodeLease(l lease.Lease) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(l.Replica))
	for _, ts := range []hlc.Timestamp{l.Start, l.Expiration} {
		b = binary.BigEndian.AppendUint64(b, uint64(ts.WallTime))
		b = binary.BigEndian.AppendUint32(b, uint32(ts.Logical))
	}
	return binary.BigEndian.AppendUint64(b, uint64(l.Sequence))
}

func decodeLease(b []byte) (lease.Lease, error) {
	if len(b) != 4+12+12+8 {
		return lease.Lease{}, fmt.Errorf("replication: lease of %d bytes", len(b))
	}
	ts := func(p []byte) hlc.Timestamp {
		return hlc.Timestamp{WallTime: int64(binary.BigEndian.Uint64(p)), Logical: int32(binary.BigEndian.Uint32(p[8:]))}
	}
	return lease.Lease{
		Replica:    int32(binary.BigEndian.Uint32(b)),
		Start:      ts(b[4:]),
		Expiration: ts(b[16:]),
		Sequence:   int64(binary.BigEndian.Uint64(b[28:])),
	}, nil
}
