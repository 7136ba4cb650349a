package closedts

import (
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Close returns the closed timestamp a leaseholder may publish now:
//
//	max(lastClosed, min(now - targetLag, t.LowerBound().Prev()))
//
// The result is never below lastClosed and, under the contract in the
// package documentation (writes are forwarded above lastClosed before being
// tracked, under the lock Close runs under), never at or above a tracked
// write. It is also never above now - targetLag unless lastClosed already
// was.
func Close(now hlc.Timestamp, targetLag time.Duration, t Tracker, lastClosed hlc.Timestamp) hlc.Timestamp {
	target := now.Add(-targetLag)
	if lb := t.LowerBound(); !lb.IsEmpty() {
		if p := lb.Prev(); p.Less(target) {
			target = p
		}
	}
	return hlc.Max(lastClosed, target)
}
