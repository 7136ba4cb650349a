package liveness

import (
	"context"
	"encoding/binary"
	"strings"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
)

// localitiesPrefix keys each node's locality:
//
//	localities/<id:8 BE>   "<locality>" or "<locality>;edge"
//
// Each node publishes its own (Config.Locality, Config.Edge) once per
// start, so that every node learns the others' regions from the node
// table it already reads.
var localitiesPrefix = keys.SystemKey("localities/")

func encodeLocality(locality string, edge bool) []byte {
	if edge {
		return []byte(locality + ";edge")
	}
	return []byte(locality)
}

func decodeLocality(v []byte) (string, bool) {
	s := string(v)
	if l, ok := strings.CutSuffix(s, ";edge"); ok {
		return l, true
	}
	return s, false
}

// publishLocality writes this node's locality if it has not yet in this
// process's life.
func (l *Liveness) publishLocality(ctx context.Context) error {
	if l.localityPublished {
		return nil
	}
	k := idKey("localities/", l.cfg.NodeID)
	err := l.cfg.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		return txn.Put(ctx, k, encodeLocality(l.cfg.Locality, l.cfg.Edge))
	})
	if err == nil {
		l.localityPublished = true
	}
	return err
}

// fillLocalities sets the Locality and Edge of the records (byID: index of
// each node's record in out).
func fillLocalities(ctx context.Context, txn *kv.Txn, out []Record, byID map[int32]int) error {
	locs, err := txn.Scan(ctx, localitiesPrefix, prefixEnd(localitiesPrefix), 0)
	if err != nil {
		return err
	}
	for _, kv := range locs {
		id := int32(binary.BigEndian.Uint64(kv.Key[len(localitiesPrefix):]))
		if i, ok := byID[id]; ok {
			out[i].Locality, out[i].Edge = decodeLocality(kv.Value)
		}
	}
	return nil
}
