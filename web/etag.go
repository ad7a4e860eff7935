package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strconv"
)

// etags holds a strong ETag per embedded file, computed once: the files
// cannot change while the binary runs.
var etags = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		m[name] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return m
}()

func itoa(n int) string { return strconv.Itoa(n) }
