package pluginhost

import "os/exec"

// A plugin process must never outlive its host: a stray one holds memory,
// and on a cluster node it keeps the job's allocation busy. Where the
// platform allows, each plugin starts in its own process group (so the
// host can stop it together with anything it spawned) and is sent SIGKILL
// by the kernel when the host dies, even by SIGKILL (see lifetime_*.go).

// tieToHost prepares cmd, before it starts, to live no longer than the host.
func tieToHost(cmd *exec.Cmd) { setProcAttr(cmd) }

// stop ends the plugin process and whatever it started in its group.
func (inst *instance) stop() {
	inst.stopping.Store(true)
	pid := inst.pid()
	inst.client.Kill()
	if pid > 0 {
		killGroup(pid)
	}
}

// pid is the plugin process's id, 0 before it started.
// go-plugin starts cmd in the goroutine that asked for the client, so
// Process is set by the time anyone stops the instance.
func (inst *instance) pid() int {
	if inst.cmd != nil && inst.cmd.Process != nil {
		return inst.cmd.Process.Pid
	}
	return 0
}
