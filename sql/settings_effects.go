package sql

import "time"

// IdleInTransactionTimeout is idle_in_transaction_session_timeout (0 =
// none); pgwire ends a connection idle in a transaction for longer with
// 25P03.
func (s *Session) IdleInTransactionTimeout() time.Duration {
	d, err := parseMillis(s.vars.vals["idle_in_transaction_session_timeout"])
	if err != nil {
		return 0
	}
	return d
}
