package claudebridge

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestRequestJSONKeepsNestedBytes(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"<b>&amp;</b>"}],"top_p":0.9,"x":{"sig":"a+/="}}`)
	r := &Request{Body: body, Fields: map[string]json.RawMessage{}}
	if err := json.Unmarshal(body, &r.Fields); err != nil {
		t.Fatal(err)
	}
	if got := r.JSON(); !bytes.Equal(got, body) {
		t.Fatalf("unchanged request: got %s", got)
	}
	c := r.Clone()
	c.SetField("top_p", nil)
	c.SetField("model", json.RawMessage(`"n"`))
	want := `{"messages":[{"role":"user","content":"<b>&amp;</b>"}],"model":"n","x":{"sig":"a+/="}}`
	if got := string(c.JSON()); got != want {
		t.Fatalf("changed request:\n got %s\nwant %s", got, want)
	}
	if _, ok := r.Fields["top_p"]; !ok || !bytes.Equal(r.JSON(), body) {
		t.Fatal("changing a clone changed the original")
	}
}
