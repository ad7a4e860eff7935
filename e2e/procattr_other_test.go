//go:build unix && !linux

package e2e

import (
	"os/exec"
	"syscall"
)

// childAttr puts a child in its own process group, so that stopping it stops
// whatever it started.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills cmd's process group.
func killGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// termGroup asks cmd's process group to stop.
func termGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
}
