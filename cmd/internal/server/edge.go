package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/liveness"
	"github.com/outpostdb/outpost/replication/lease"
	"github.com/outpostdb/outpost/replication/transport"
)

// Edge groundwork: localities, simulated WAN latency between regions, and
// the Prometheus /metrics endpoint.

// ParseLocality validates and normalizes --locality: comma-separated
// key=value tiers ("region=us,zone=a"), keys and values non-empty, made of
// letters, digits, '-', '_' and '.', keys unique. Order is kept (tiers go
// from the widest to the narrowest). "" is no locality.
func ParseLocality(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	seen := map[string]bool{}
	var out []string
	for _, tier := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(tier), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !localityWord(k) || !localityWord(v) {
			return "", fmt.Errorf("bad locality tier %q: want key=value (letters, digits, '-', '_', '.')", tier)
		}
		if seen[k] {
			return "", fmt.Errorf("locality key %q given twice", k)
		}
		seen[k] = true
		out = append(out, k+"="+v)
	}
	return strings.Join(out, ","), nil
}

func localityWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// LocalityRegion returns the region tier of a locality ("" if none).
func LocalityRegion(locality string) string {
	for _, tier := range strings.Split(locality, ",") {
		if v, ok := strings.CutPrefix(tier, "region="); ok {
			return v
		}
	}
	return ""
}

// ParseLatencyMatrix parses --simulate-latency: comma-separated
// "<region>-<region>=<round trip>" pairs ("us-eu=60ms,us-ap=120ms"). The
// round trip applies to both directions (half each way); a pair given
// twice, a region paired with itself, or a duration ≤ 0 is an error. ""
// is no simulated latency (nil).
func ParseLatencyMatrix(s string) (map[[2]string]time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	out := map[[2]string]time.Duration{}
	for _, item := range strings.Split(s, ",") {
		pair, dur, ok := strings.Cut(strings.TrimSpace(item), "=")
		a, b, ok2 := strings.Cut(strings.TrimSpace(pair), "-")
		if !ok || !ok2 || !localityWord(a) || !localityWord(b) {
			return nil, fmt.Errorf("bad latency %q: want <region>-<region>=<round trip>, e.g. us-eu=60ms", item)
		}
		if a == b {
			return nil, fmt.Errorf("bad latency %q: a region's latency to itself is not simulated", item)
		}
		d, err := time.ParseDuration(strings.TrimSpace(dur))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("bad latency %q: the round trip must be a positive duration (60ms)", item)
		}
		key := [2]string{min(a, b), max(a, b)}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("latency between %s and %s given twice", a, b)
		}
		out[key] = d
	}
	return out, nil
}

// applyLatency sets the simulated delay to every node the node table
// names, from their published regions. Called with each refresh of the
// node table (liveness goroutine).
func (s *Server) applyLatency(recs []liveness.Record) {
	if s.faults == nil {
		return
	}
	regions := make(map[int32]string, len(recs)+1)
	for _, r := range recs {
		regions[r.ID] = LocalityRegion(r.Locality)
	}
	regions[s.nodeID] = LocalityRegion(s.cfg.Locality)
	s.faults.SetLatencyMatrix(regions, s.cfg.SimulateLatency)
}

// HTTPAddr is the address the HTTP endpoint is bound to ("" if off).
func (s *Server) HTTPAddr() string { return s.httpAddr }

// SimulatedDelay is the one-way delay this node adds to what it sends to
// node to (0 without --simulate-latency).
func (s *Server) SimulatedDelay(to int32) time.Duration { return s.faults.Delay(s.nodeID, to) }

// newFaults returns the fault injector of the node's RPC when latency is
// simulated, else nil (production: no injector at all).
func newFaults(cfg Config) *transport.Faults {
	if len(cfg.SimulateLatency) == 0 {
		return nil
	}
	return transport.NewFaults(time.Now().UnixNano())
}

// countingHandler counts the batches the node's kv client sends into the
// router.
type countingHandler struct {
	kvrpc.Handler
	n *atomic.Int64
}

func (c countingHandler) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	c.n.Add(1)
	return c.Handler.Send(ctx, ba)
}

// metricsHandler serves /metrics: the node's counters and, per replica,
// Raft's applied and commit indexes and whether this node holds the lease.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(nodeCollector{s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type nodeCollector struct{ s *Server }

var (
	descStatements = prometheus.NewDesc("outpost_sql_statements_total",
		"Planned SQL statements started (SELECT, INSERT, DDL...; not SET, SHOW or transaction control).", nil, nil)
	descStatementErrors = prometheus.NewDesc("outpost_sql_statement_errors_total",
		"SQL statements and protocol messages that failed.", nil, nil)
	descBatches = prometheus.NewDesc("outpost_kv_batches_sent_total",
		"kv batches this node's kv client sent through the router.", nil, nil)
	descFollowerServed = prometheus.NewDesc("outpost_follower_reads_served_total",
		"Historical and bounded-staleness reads the local replicas could serve (per the replication side's FollowerReads hook).", nil, nil)
	descFollowerRedirected = prometheus.NewDesc("outpost_follower_reads_redirected_total",
		"Historical and bounded-staleness reads sent to the leaseholder: no local replica could serve them, or no FollowerReads hook is configured.", nil, nil)
	descApplied = prometheus.NewDesc("outpost_raft_applied_index",
		"Raft log index applied by this node's replica.", []string{"range"}, nil)
	descCommit = prometheus.NewDesc("outpost_raft_commit_index",
		"Raft commit index known to this node's replica.", []string{"range"}, nil)
	descLeaseholder = prometheus.NewDesc("outpost_replica_leaseholder",
		"1 if this node's replica holds a valid lease on the range, else 0.", []string{"range"}, nil)
	descClosedLag = prometheus.NewDesc("outpost_replica_closed_timestamp_lag_seconds",
		"How far behind this node's clock the replica's servable closed timestamp is (follower reads at older times are local); absent until one is known.", []string{"range"}, nil)
	descStoreFollowerServed = prometheus.NewDesc("outpost_store_follower_reads_served_total",
		"Batches at a fixed timestamp served by a replica of this node that does not hold the lease.", nil, nil)
	descStoreFollowerRefused = prometheus.NewDesc("outpost_store_follower_reads_refused_total",
		"Follower-read batches this node's replicas refused (not yet closed or applied, an intent) and the router sent to the leaseholder.", nil, nil)
	descForwarded = prometheus.NewDesc("outpost_sql_forwarded_total",
		"Calls to a core node that ran this edge node's writes and strong reads (one per implicit transaction, batch, or statement of a forwarded transaction).", nil, nil)
	descForwardFailures = prometheus.NewDesc("outpost_sql_forward_failures_total",
		"Forwarded calls that did not complete (core unreachable).", nil, nil)
)

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStatements, descStatementErrors, descBatches,
		descFollowerServed, descFollowerRedirected, descApplied, descCommit, descLeaseholder,
		descClosedLag, descStoreFollowerServed, descStoreFollowerRefused, descForwarded, descForwardFailures} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	m := s.sql.Metrics()
	ch <- prometheus.MustNewConstMetric(descStatements, prometheus.CounterValue, float64(m.Statements))
	ch <- prometheus.MustNewConstMetric(descStatementErrors, prometheus.CounterValue, float64(m.StatementErrors))
	ch <- prometheus.MustNewConstMetric(descFollowerServed, prometheus.CounterValue, float64(m.FollowerReadsServed))
	ch <- prometheus.MustNewConstMetric(descFollowerRedirected, prometheus.CounterValue, float64(m.FollowerReadsRedirected))
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.CounterValue, float64(s.kvBatches.Load()))
	fm := s.sql.ForwardMetrics()
	ch <- prometheus.MustNewConstMetric(descForwarded, prometheus.CounterValue, float64(fm.Forwarded))
	ch <- prometheus.MustNewConstMetric(descForwardFailures, prometheus.CounterValue, float64(fm.Failures))
	store := s.store
	if store == nil {
		return
	}
	fs := store.FollowerReadStats()
	ch <- prometheus.MustNewConstMetric(descStoreFollowerServed, prometheus.CounterValue, float64(fs.Served))
	ch <- prometheus.MustNewConstMetric(descStoreFollowerRefused, prometheus.CounterValue, float64(fs.Refused))
	reps := store.Replicas()
	sort.Slice(reps, func(i, j int) bool { return reps[i].RangeID() < reps[j].RangeID() })
	now := s.clock.Now()
	for _, r := range reps {
		st := r.Status()
		rng := strconv.FormatInt(st.RangeID, 10)
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.AppliedIndex), rng)
		ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(st.Commit), rng)
		held := 0.0
		if st.Lease.Evaluate(now, 0, hlc.Timestamp{}) == lease.Valid && st.Lease.Replica == s.nodeID {
			held = 1
		}
		ch <- prometheus.MustNewConstMetric(descLeaseholder, prometheus.GaugeValue, held, rng)
		if c := r.ClosedTimestamp(); !c.IsEmpty() {
			lag := time.Duration(now.WallTime - c.WallTime).Seconds()
			ch <- prometheus.MustNewConstMetric(descClosedLag, prometheus.GaugeValue, lag, rng)
		}
	}
}
