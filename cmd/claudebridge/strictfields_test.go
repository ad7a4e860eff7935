package main

import "testing"

func TestStrictFieldsIsRead(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"", false}, {"true", true}, {"false", false}, {"1", true}} {
		cfg, err := loadConfig(env(map[string]string{"STRICT_FIELDS": tc.value}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.StrictFields, tc.want; got != want {
			t.Errorf("STRICT_FIELDS=%q: %v, want %v", tc.value, got, want)
		}
	}
	if _, err := loadConfig(env(map[string]string{"STRICT_FIELDS": "sometimes"})); err == nil {
		t.Error("STRICT_FIELDS=sometimes was accepted")
	}
}
