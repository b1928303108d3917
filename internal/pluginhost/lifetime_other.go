//go:build !unix

package pluginhost

import "os/exec"

// setProcAttr does nothing where there are neither process groups nor a
// parent-death signal; go-plugin still kills the plugin on a clean exit.
func setProcAttr(cmd *exec.Cmd) {}

func killGroup(pid int) {}
