package server

import (
	"testing"

	"github.com/outpostdb/outpost/pgwire/pgwiretest"
)

// TestCopyProtocol runs the COPY sub-protocol scripts in
// testdata/copywire against a node.
func TestCopyProtocol(t *testing.T) {
	pgwiretest.Walk(t, "../../../testdata/copywire", func(t *testing.T) pgwiretest.Target {
		return pgwiretest.Target{Addr: startNode(t).SQLAddr()}
	})
}
