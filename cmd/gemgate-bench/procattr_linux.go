package main

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill a child when the bench dies, so an interrupted run leaves no
// fake, floor or gemgate behind holding ports and CPU.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
