package pluginhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks the kernel to SIGKILL the plugin when the host's
// thread that started it exits (the Go runtime keeps its threads for the
// life of the process unless a goroutine locked to one ends, and none that
// launches plugins does), and gives the plugin its own process group.
func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// killGroup sends SIGKILL to the process group led by pid; a group with
// no process left is not an error.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
