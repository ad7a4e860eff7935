package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudebridge/claudebridge"
)

// breakerStates are the states of a pool member's circuit breaker, as the
// "state" label of claudebridge_upstream_member_state names them.
var breakerStates = []string{"closed", "half-open", "open"}

// FailedOver counts a call of op ("messages", "stream", ...) moved on from
// the pool member that failed it with err; the reason is err's code.
func (m *Metrics) FailedOver(op, member string, err error) {
	if m != nil {
		m.failovers.WithLabelValues(op, member, claudebridge.ErrorCode(err)).Inc()
	}
}

// MemberState sets a pool member's breaker state ("closed", "half-open",
// "open"): its series of that state is 1, its others 0.
func (m *Metrics) MemberState(member, state string) {
	if m == nil {
		return
	}
	for _, s := range breakerStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.memberState.WithLabelValues(member, s).Set(v)
	}
}

func newPoolCollectors() (failovers *prometheus.CounterVec, memberState *prometheus.GaugeVec) {
	failovers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "claudebridge_upstream_failovers_total",
		Help: "Calls moved on from a pool member (UPSTREAMS) that failed them, by operation, member and the error code of the failure."},
		[]string{"upstream", "op", "member", "reason"})
	memberState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "claudebridge_upstream_member_state",
		Help: "Circuit breaker state of each pool member: 1 for its current state (closed, half-open, open), 0 for the others."},
		[]string{"upstream", "member", "state"})
	return failovers, memberState
}
