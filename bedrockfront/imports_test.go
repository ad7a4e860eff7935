package bedrockfront

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// The front door depends on the domain root and the wire rooms only, never
// on an upstream, the other front door, the emulator or the chat (see
// ARCHITECTURE.md). The walk follows the module's packages transitively, so
// an allowed room that starts importing an upstream fails here too.
func TestFrontDoorDependsOnlyOnTheDomainAndTheWireRooms(t *testing.T) {
	const module = "github.com/claudebridge/claudebridge"
	allowed := map[string]bool{
		module:                        true,
		module + "/anthropic":         true,
		module + "/converse":          true,
		module + "/bedrockwire":       true,
		module + "/sigv4":             true,
		module + "/models":            true, // the model table, data on the root only
		module + "/internal/httpbody": true, // reads a body whole; standard library only
		module + "/metrics":           true, // counters of the calls, on the domain and the wire rooms only
		module + "/limits":            true, // virtual keys and their limits; the domain and the wire rooms only
	}
	seen := map[string]bool{}
	var walk func(path, dir string)
	walk = func(path, dir string) {
		if seen[path] {
			return
		}
		seen[path] = true
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if !allowed[imp] {
				t.Errorf("%s imports %s", path, imp)
				continue
			}
			walk(imp, filepath.Join("..", filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))))
		}
	}
	walk(module+"/bedrockfront", ".")
	if len(seen) < 2 {
		t.Fatalf("walked %d packages: the walk found no imports", len(seen))
	}
}
