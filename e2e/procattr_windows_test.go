package e2e

import (
	"os/exec"
	"syscall"
)

// childAttr: Windows has no process groups to join here; the e2e tests
// build there (make cross) but are run on Unix.
func childAttr() *syscall.SysProcAttr { return nil }

// killGroup kills cmd; what it started is left to Windows.
func killGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }

// termGroup: Windows has no SIGTERM to send, so cmd is killed.
func termGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }
