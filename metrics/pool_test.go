package metrics_test

import (
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/metrics"
)

func TestFailoversAreCountedByMemberAndReason(t *testing.T) {
	m := metrics.New("pool")
	m.FailedOver("stream", "bedrock:us-east-1", claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
	m.FailedOver("stream", "bedrock:us-east-1", claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
	f := metricstest.Scrape(t, m.Handler(""), "")
	labels := map[string]string{"upstream": "pool", "op": "stream", "member": "bedrock:us-east-1", "reason": "rate_limit"}
	if got, want := f.Value("claudebridge_upstream_failovers_total", labels), 2.0; got != want {
		t.Errorf("failovers %v, want %v", got, want)
	}
}

func TestAMembersStateIsOneForItsStateAndZeroForTheOthers(t *testing.T) {
	m := metrics.New("pool")
	m.MemberState("anthropic", "closed")
	m.MemberState("anthropic", "open")
	f := metricstest.Scrape(t, m.Handler(""), "")
	for state, want := range map[string]float64{"closed": 0, "half-open": 0, "open": 1} {
		labels := map[string]string{"member": "anthropic", "state": state}
		if got := f.Value("claudebridge_upstream_member_state", labels); got != want {
			t.Errorf("state %s: %v, want %v", state, got, want)
		}
	}
}
