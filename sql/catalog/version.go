package catalog

import (
	"context"

	"github.com/outpostdb/outpost/kv"
)

// BumpVersion marks a change that cached catalog state depends on, made
// outside descriptors (roles: sql/roles), so that sessions caching per
// catalog version notice it.
func BumpVersion(ctx context.Context, txn *kv.Txn) error { return bumpVersion(ctx, txn) }
