package sim

import "testing"

func TestAFaultForOneEmulatorIsNoneForTheOthers(t *testing.T) {
	d := ParseDirectives("hi [[throttle*2@us-east-1]]")
	if got, want := d.For("bedrock", "us-east-1").Fault, "throttle"; got != want {
		t.Errorf("in us-east-1: fault %q, want %q", got, want)
	}
	if got, want := d.For("bedrock", "us-east-1").Times, 2; got != want {
		t.Errorf("in us-east-1: times %d, want %d", got, want)
	}
	if got, want := d.For("bedrock", "us-west-2").Fault, ""; got != want {
		t.Errorf("in us-west-2: fault %q, want %q", got, want)
	}
	if got, want := d.For("anthropic").Fault, ""; got != want {
		t.Errorf("on the Anthropic emulator: fault %q, want %q", got, want)
	}
	if got, want := ParseDirectives("[[overloaded]]").For("anthropic").Fault, "overloaded"; got != want {
		t.Errorf("an untargeted fault: %q, want %q", got, want)
	}
	if got, want := stripDirectives("hi [[error@anthropic]]"), "hi"; got != want {
		t.Errorf("stripped %q, want %q", got, want)
	}
}
