package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's settings table from the Go table")

// readmeSettingsTable returns README.md's text and the start and end of
// its settings table.
func readmeSettingsTable(t *testing.T) (readme string, start, end int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme = string(b)
	start = strings.Index(readme, "| variable | default | meaning |\n")
	if start < 0 {
		t.Fatal("README.md has no settings table (| variable | default | meaning |)")
	}
	end = start
	for end < len(readme) && readme[end] == '|' {
		end += strings.IndexByte(readme[end:], '\n') + 1
	}
	return readme, start, end
}

func TestReadmeSettingsTableIsTheGoTable(t *testing.T) {
	readme, start, end := readmeSettingsTable(t)
	got, want := readme[start:end], settingsMarkdown()
	if got == want {
		return
	}
	if *update {
		readme = readme[:start] + want + readme[end:]
		if err := os.WriteFile(filepath.Join("..", "..", "README.md"), []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's settings table rewritten from settings.go")
		return
	}
	gotRows, wantRows := strings.Split(got, "\n"), strings.Split(want, "\n")
	for _, row := range gotRows {
		if !slices.Contains(wantRows, row) {
			t.Errorf("README.md has a row settings.go does not make:\n%s", row)
		}
	}
	for _, row := range wantRows {
		if !slices.Contains(gotRows, row) {
			t.Errorf("settings.go makes a row README.md does not have:\n%s", row)
		}
	}
	t.Errorf("README.md's settings table differs from settings.go's (rows above, or their order); change settings.go and run\n"+
		"  go test ./cmd/claudebridge -run TestReadmeSettingsTableIsTheGoTable -update\n"+
		"to rewrite README's. The table settings.go makes:\n\n%s", want)
}

func TestEverySettingIsReadAndEveryReadOneListed(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	var read []string
	_, err := loadConfig(func(name string) string {
		read = append(read, name)
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range settings {
		listed = append(listed, s.names()...)
	}
	for _, name := range read {
		// The AWS chain's own variables are read by its SDK and named in
		// their rows by example; XDG_DATA_HOME is DATABASE_URL's default.
		if strings.HasPrefix(name, "AWS_") || name == "XDG_DATA_HOME" {
			continue
		}
		if !slices.Contains(listed, name) {
			t.Errorf("loadConfig reads %s, which settings.go does not list", name)
		}
	}
	for _, name := range listed {
		if !strings.HasPrefix(name, "AWS_") && !slices.Contains(read, name) {
			t.Errorf("settings.go lists %s, which loadConfig does not read", name)
		}
	}
}

func TestServeHelpListsEverySettingWithItsDefault(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"serve", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, s := range settings {
		got, want := strings.Contains(help, strings.ReplaceAll(s.Name, "`", "")+" (default: "+strings.ReplaceAll(s.Default, "`", "")+")"), true
		if got != want {
			t.Errorf("serve --help has no line for %s with its default %s", s.Name, s.Default)
		}
	}
	got, want := errOut.String(), ""
	if got != want {
		t.Errorf("serve --help wrote to stderr: %q", got)
	}
}

func TestWrapKeepsLinesWithinTheWidth(t *testing.T) {
	lines := wrap("one two three four five six seven", 10)
	got, want := strings.Join(lines, "|"), "one two|three four|five six|seven"
	if got != want {
		t.Errorf("wrap: %q, want %q", got, want)
	}
}
