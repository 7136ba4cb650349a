package kv_test

import (
	"time"

	"github.com/outpostdb/outpost/kv/local"
)

func kvLocalFastExpiry() local.Config {
	return local.Config{TxnExpiry: 300 * time.Millisecond, LivenessCheckInterval: 50 * time.Millisecond}
}
