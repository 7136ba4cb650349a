package local

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

// clockPersister keeps the HLC upper bound in the engine's store-local
// keyspace, fsynced.
type clockPersister struct{ engine storage.Engine }

func (p clockPersister) LoadUpperBound() (int64, error) {
	raw, ok, err := mvcc.GetUnversioned(p.engine, keys.StoreHLCUpperBoundKey())
	if err != nil || !ok {
		return 0, err
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("local: corrupt HLC upper bound (%d bytes)", len(raw))
	}
	return int64(binary.BigEndian.Uint64(raw)), nil
}

func (p clockPersister) PersistUpperBound(wall int64) error {
	b := p.engine.NewBatch()
	defer b.Close()
	if err := mvcc.PutUnversioned(b, keys.StoreHLCUpperBoundKey(), binary.BigEndian.AppendUint64(nil, uint64(wall))); err != nil {
		return err
	}
	return b.Commit(true)
}

// PersistClock makes clock never go backwards across restarts of this
// engine: it starts above the bound stored by the previous process and
// stores a new bound interval ahead whenever it gets close.
func PersistClock(engine storage.Engine, clock *hlc.Clock, interval time.Duration) error {
	return clock.EnablePersistence(clockPersister{engine: engine}, interval)
}
