package doccheck

import (
	"os/exec"
	"syscall"
	"time"
)

// inGroup runs cmd in its own process group, killed as a whole when the command is cancelled (or when
// the test binary dies, timed out), so that no child (a server a block started) outlives the test.
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}

// interrupt asks a started gemgate to shut down as an operator's Ctrl-C would.
func interrupt(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
