package local

import (
	"fmt"

	"github.com/outpostdb/outpost/kv/eval"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/mvcc"
)

// ReloadReplicatedState is called by a replica that replaced its range's
// replicated state wholesale (it installed a snapshot): the GC threshold is
// read again from the engine, and the timestamp cache's low-water moves up
// to now, since reads served elsewhere before the snapshot are unknown here.
func (s *Store) ReloadReplicatedState() error {
	gct := hlc.Timestamp{}
	raw, ok, err := mvcc.GetUnversioned(s.engine, keys.RangeGCThresholdKey(s.cfg.RangeID))
	if err != nil {
		return err
	}
	if ok {
		if gct, err = eval.DecodeTimestamp(raw); err != nil {
			return fmt.Errorf("local: GC threshold: %w", err)
		}
	}
	s.gcThreshold.Store(&gct)
	s.tsc.SetLowWater(s.clock.Now())
	return nil
}
