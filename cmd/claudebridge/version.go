package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version says which build this is, from what the Go toolchain stamped
// into the binary: the module's version, the commit it was built from
// when built in a git checkout, and the Go release.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Sprintf("claudebridge (no build information)\nbuilt with %s for %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	return describeBuild(info)
}

// describeBuild is version's text for info.
func describeBuild(info *debug.BuildInfo) string {
	set := map[string]string{}
	for _, s := range info.Settings {
		set[s.Key] = s.Value
	}
	var b strings.Builder
	v := info.Main.Version
	if v == "" {
		v = "(devel)" // go run, go test, or a build outside the module's checkout
	}
	fmt.Fprintf(&b, "claudebridge %s\n", v)
	if rev := set["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "commit %s", rev)
		if t := set["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " of %s", t)
		}
		if set["vcs.modified"] == "true" {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteString("\n")
	}
	goos, goarch := or(set["GOOS"], runtime.GOOS), or(set["GOARCH"], runtime.GOARCH)
	fmt.Fprintf(&b, "built with %s for %s/%s\n", or(info.GoVersion, runtime.Version()), goos, goarch)
	return b.String()
}
