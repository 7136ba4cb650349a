package catalog

import (
	"errors"

	"github.com/outpostdb/outpost/kv/kvpb"
)

func asCondFailed(err error, target **kvpb.ConditionFailedError) bool {
	return errors.As(err, target)
}
