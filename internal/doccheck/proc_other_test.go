//go:build !linux

package doccheck

import (
	"os"
	"os/exec"
	"time"
)

func inGroup(cmd *exec.Cmd) { cmd.WaitDelay = 5 * time.Second }

func interrupt(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }
