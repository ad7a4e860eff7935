// Package benchcpu reports a benchmark's CPU time per operation: on a
// shared machine wall time counts the waits for a core too, CPU time does
// not.
package benchcpu

import "testing"

// Report starts counting; the function it returns adds cpu-ns/op, the
// process's CPU time (user and system, GC included) per operation, where
// the platform tells it (Unix), and nothing elsewhere.
//
//	defer benchcpu.Report(b)()
func Report(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
