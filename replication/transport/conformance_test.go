package transport_test

import (
	"testing"

	"github.com/outpostdb/outpost/replication/transport"
	"github.com/outpostdb/outpost/replication/transport/transporttest"
)

func TestMemConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transporttest.Env {
		tr := transport.NewMem(1)
		t.Cleanup(func() { _ = tr.Close() })
		return transporttest.Env{Transport: tr, Faults: tr}
	})
}
