package converse

import (
	"encoding/json"
	"testing"
)

func FuzzReaderAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e+3,true,false,null,"x\u00e9\n"]}`, `"abc\"def\\"`, `[1,]`, `{"a" 1}`, `"\x01"`, `01`, `"12345678\"9"`, `{"k":"aaaaaaaa\\bbbbbbbb\"cc"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		for _, trusted := range []bool{false, true} {
			if trusted && !want {
				continue // trusted text must be valid
			}
			r := jsonReader{b: b, trusted: trusted}
			v, err := r.value()
			if err == nil {
				err = r.end()
			}
			if got := err == nil; got != want {
				t.Fatalf("trusted %v: valid %v, encoding/json says %v (%v)", trusted, got, want, err)
			}
			if want && string(v) != string(trimSpace(b)) {
				t.Fatalf("value %q of %q", v, b)
			}
		}
	})
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
