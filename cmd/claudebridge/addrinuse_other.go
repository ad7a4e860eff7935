//go:build !windows

package main

import (
	"errors"
	"syscall"
)

// addressInUse reports whether a listen failed because the address is taken.
func addressInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE)
}
