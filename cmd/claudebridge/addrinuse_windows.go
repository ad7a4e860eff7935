package main

import (
	"errors"
	"syscall"
)

// wsaeAddrInUse is WSAEADDRINUSE, what Winsock answers for an address
// that is taken. The syscall package does not name it, and its
// syscall.EADDRINUSE is a value of its own that Winsock never returns.
const wsaeAddrInUse syscall.Errno = 10048

// addressInUse reports whether a listen failed because the address is taken.
func addressInUse(err error) bool {
	return errors.Is(err, wsaeAddrInUse) || errors.Is(err, syscall.EADDRINUSE)
}
