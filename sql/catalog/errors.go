package catalog

import (
	"errors"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// isCondFailed reports a ConditionalPut that found the key taken.
func isCondFailed(err error) bool {
	var cf *kvpb.ConditionFailedError
	return errors.As(err, &cf)
}
