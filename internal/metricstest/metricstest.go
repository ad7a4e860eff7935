// Package metricstest reads /metrics in tests as Prometheus does: the text
// format parsed by Prometheus's own parser (expfmt).
package metricstest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Scrape gets /metrics from h with the given Authorization header ("" for
// none), fails the test unless it answers 200, and parses the answer.
func Scrape(t testing.TB, h http.Handler, authorization string) Families {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	return Parse(t, w.Result())
}

// Parse parses a /metrics answer.
func Parse(t testing.TB, resp *http.Response) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	f, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus's text format: %v", err)
	}
	return f
}

// matching returns the series of name whose labels include labels.
func (f Families) matching(name string, labels map[string]string) []*dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
	var out []*dto.Metric
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// Value is the sum of the counter or gauge series of name whose labels
// include labels; 0 when there is none.
func (f Families) Value(name string, labels map[string]string) float64 {
	sum := 0.0
	for _, m := range f.matching(name, labels) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// Observations is how many observations the histogram series of name
// whose labels include labels have, together.
func (f Families) Observations(name string, labels map[string]string) uint64 {
	var n uint64
	for _, m := range f.matching(name, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}
