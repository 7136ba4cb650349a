package sql

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// sessionSequences implements nextval/currval/setval/lastval and
// unique_rowid for a session. nextval runs in its own kv transaction, as
// PostgreSQL sequences are not transactional: a value handed out is never
// handed out again, even if the caller rolls back.
type sessionSequences struct {
	s    *Session
	curr map[catalog.ID]int64
	last *int64
}

var rowIDs struct {
	sync.Mutex
	last int64
}

func (q *sessionSequences) Call(ec *plan.ExecCtx, name string, args []types.Datum) (types.Datum, error) {
	if name == "unique_rowid" {
		return types.DInt(q.uniqueRowID(ec)), nil
	}
	if name == "lastval" {
		if q.last == nil {
			return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
		}
		return types.DInt(*q.last), nil
	}
	if len(args) == 0 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s() does not exist", name)
	}
	seqName := strings.Trim(string(args[0].(types.DString)), `"`)
	desc, err := q.lookup(ec, seqName)
	if err != nil {
		return nil, err
	}
	if err := q.s.checkSequencePrivilege(ec.Ctx, desc, name); err != nil {
		return nil, err
	}
	switch name {
	case "nextval":
		v, err := q.next(ec.Ctx, desc)
		if err != nil {
			return nil, err
		}
		q.curr[desc.ID] = v
		q.last = &v
		return types.DInt(v), nil
	case "currval":
		v, ok := q.curr[desc.ID]
		if !ok {
			return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "currval of sequence %q is not yet defined in this session", seqName)
		}
		return types.DInt(v), nil
	case "setval":
		if len(args) < 2 {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "function setval(text) does not exist")
		}
		v, err := types.Cast(args[1], types.Int8, false, nil)
		if err != nil {
			return nil, err
		}
		n := int64(v.(types.DInt))
		if n < desc.Min || n > desc.Max {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "setval: value %d is out of bounds for sequence %q (%d..%d)", n, seqName, desc.Min, desc.Max)
		}
		isCalled := true
		if len(args) > 2 {
			isCalled = args[2] == types.DBool(true)
		}
		stored := n
		if !isCalled {
			stored = n - desc.Increment
		}
		err = q.s.srv.db.Txn(ec.Ctx, func(ctx context.Context, txn *kv.Txn) error {
			return txn.Put(ctx, catalog.SequenceValueKey(desc.ID), binary.BigEndian.AppendUint64(nil, uint64(stored)))
		})
		if err != nil {
			return nil, err
		}
		if isCalled {
			q.curr[desc.ID] = n
		}
		return types.DInt(n), nil
	}
	return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s does not exist", name)
}

func (q *sessionSequences) lookup(ec *plan.ExecCtx, name string) (*catalog.SequenceDesc, error) {
	id, ok, err := catalog.LookupID(ec.Ctx, ec.Txn, q.s.dbID, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
	}
	d, err := catalog.Get(ec.Ctx, ec.Txn, id)
	if err != nil {
		return nil, err
	}
	if d == nil || d.Kind != catalog.KindSequence {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", name)
	}
	return d.Sequence, nil
}

// next increments the sequence in its own transaction.
func (q *sessionSequences) next(ctx context.Context, d *catalog.SequenceDesc) (int64, error) {
	var v int64
	err := q.s.srv.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		raw, err := txn.Get(ctx, catalog.SequenceValueKey(d.ID))
		if err != nil {
			return err
		}
		if raw == nil {
			v = d.Start
		} else {
			v = int64(binary.BigEndian.Uint64(raw)) + d.Increment
		}
		if v > d.Max || v < d.Min {
			return sqlerr.New(sqlerr.SequenceGeneratorLimitExceeded, "nextval: reached maximum value of sequence %q (%d)", d.Name, d.Max)
		}
		return txn.Put(ctx, catalog.SequenceValueKey(d.ID), binary.BigEndian.AppendUint64(nil, uint64(v)))
	})
	return v, err
}

// uniqueRowID returns an int8 unique on this node and roughly ordered by
// time: microseconds of the HLC (which never goes back across restarts)
// shifted left, with the node ID in the low bits.
func (q *sessionSequences) uniqueRowID(ec *plan.ExecCtx) int64 {
	micros := q.s.srv.db.Clock().Now().WallTime / 1000
	id := micros<<10 | int64(q.s.srv.cfg.NodeID&1023)
	rowIDs.Lock()
	defer rowIDs.Unlock()
	if id <= rowIDs.last {
		id = rowIDs.last + 1<<10
	}
	rowIDs.last = id
	return id
}
