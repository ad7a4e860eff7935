package batch

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/mock"
)

func TestBedrockRecordsAreCalledWithTheModelOfTheFlagAndAnsweredWithModelOutput(t *testing.T) {
	in, out := files(t,
		`{"recordId":"REC0000001","modelInput":{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["context-1m-2025-08-07"],"max_tokens":64,"messages":[{"role":"user","content":"one"}]}}`,
	)
	var got *claudebridge.Request
	up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		got = r
		return answer(r), nil
	}}
	if _, err := run(t, up, Bedrock{Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}, in, out); err != nil {
		t.Fatal(err)
	}
	if got, want := got.Model, "claude-sonnet-4-5-20250929"; got != want {
		t.Errorf("model %q, want %q", got, want)
	}
	if _, ok := got.Fields["anthropic_version"]; ok {
		t.Errorf("anthropic_version was sent on: %s", got.JSON())
	}
	if got, want := got.Betas, []string{"context-1m-2025-08-07"}; !slices.Equal(got, want) {
		t.Errorf("betas %q, want %q", got, want)
	}
	lines, ids := results(t, out)
	if got, want := ids, []string{"REC0000001"}; !slices.Equal(got, want) {
		t.Fatalf("results %q, want %q", got, want)
	}
	input := lines[0]["modelInput"].(map[string]any)
	if got, want := input["anthropic_version"], "bedrock-2023-05-31"; got != want {
		t.Errorf("modelInput.anthropic_version %v, want the input repeated: %v", got, want)
	}
	output := lines[0]["modelOutput"].(map[string]any)
	if got, want := output["type"], "message"; got != want {
		t.Errorf("modelOutput.type %v, want %v", got, want)
	}
	if _, ok := lines[0]["error"]; ok {
		t.Errorf("a succeeded record has an error: %v", lines[0])
	}
}

func TestAFailedBedrockRecordHasAnErrorWithInvokeModelsStatusInPlaceOfModelOutput(t *testing.T) {
	in, out := files(t,
		`{"recordId":"THROTTLED01","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"one"}]}}`,
		`{"recordId":"NOVERSION01","modelInput":{"max_tokens":64,"messages":[{"role":"user","content":"two"}]}}`,
	)
	rc := &recorder{fail: map[string]error{"one": claudebridge.Errorf(claudebridge.ERATELIMIT, "Too many requests")}}
	if _, err := run(t, rc.upstream(), Bedrock{Model: "claude-sonnet-4-5"}, in, out); err != nil {
		t.Fatal(err)
	}
	if got, want := rc.asked(), []string{"one"}; !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q: a record Bedrock's validator refuses makes no call", got, want)
	}
	lines, ids := results(t, out)
	for i, id := range ids {
		if _, ok := lines[i]["modelOutput"]; ok {
			t.Errorf("%s: a failed record has a modelOutput", id)
		}
		e := lines[i]["error"].(map[string]any)
		want := map[string]float64{"THROTTLED01": 429, "NOVERSION01": 400}[id]
		if got := e["errorCode"]; got != want {
			t.Errorf("%s: errorCode %v, want %v", id, got, want)
		}
		if got, _ := e["errorMessage"].(string); got == "" {
			t.Errorf("%s: no errorMessage", id)
		}
	}
}

func TestABedrockRecordWithoutARecordIDIsNamedByItsLine(t *testing.T) {
	rec, err := Bedrock{Model: "claude-sonnet-4-5"}.Record([]byte(`{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[{"role":"user","content":"x"}]}}`), 42)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.ID, "00000000042"; got != want {
		t.Errorf("id %q, want %q", got, want)
	}
}

func TestTheFormatIsTakenFromTheFirstRecord(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{request("a", "x"), "anthropic"},
		{`{"recordId":"R1","modelInput":{}}`, "bedrock"},
	} {
		got, err := DetectFormat(strings.NewReader("\n" + c.line + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: format %q, want %q", c.line, got, c.want)
		}
	}
}
