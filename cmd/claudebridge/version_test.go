package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionSaysModuleVersionCommitAndGoRelease(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.11",
		Main:      debug.Module{Path: "github.com/claudebridge/claudebridge", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs.revision", Value: "d7006ef0123456789abcdef0123456789abcdef0"},
			{Key: "vcs.time", Value: "2026-12-03T12:59:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := describeBuild(info)
	want := "claudebridge v1.2.3\n" +
		"commit d7006ef0123456789abcdef0123456789abcdef0 of 2026-12-03T12:59:00Z, with uncommitted changes\n" +
		"built with go1.26.11 for darwin/arm64\n"
	if got != want {
		t.Errorf("describeBuild:\n%s\nwant:\n%s", got, want)
	}
}

func TestVersionWithoutVCSInformationSaysDevel(t *testing.T) {
	got := describeBuild(&debug.BuildInfo{GoVersion: "go1.26.11", Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}})
	want := "claudebridge (devel)\nbuilt with go1.26.11 for linux/amd64\n"
	if got != want {
		t.Errorf("describeBuild:\n%s\nwant:\n%s", got, want)
	}
}

func TestVersionFlagPrintsTheBuildOnStdout(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"--version"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	got, want := strings.HasPrefix(out.String(), "claudebridge "), true
	if got != want {
		t.Errorf("--version printed %q, want a line starting with claudebridge", out.String())
	}
	got, want = strings.Contains(out.String(), "built with go"), true
	if got != want {
		t.Errorf("--version printed %q, want the Go release", out.String())
	}
}
