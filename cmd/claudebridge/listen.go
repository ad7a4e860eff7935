package main

import (
	"fmt"
	"net"
)

// listenTCP listens on addr over TCP. An address another program holds gets
// an error that says how to choose another: hint names the flag.
func listenTCP(addr, hint string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil && addressInUse(err) {
		return nil, fmt.Errorf("%s is already in use, by another claudebridge or another program: choose another address with %s", addr, hint)
	}
	return ln, err
}
