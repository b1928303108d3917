//go:build unix && !linux

package pluginhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr gives the plugin its own process group. These platforms have
// no parent-death signal: a plugin of a host killed by SIGKILL lives until
// its connection to the host fails.
func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
