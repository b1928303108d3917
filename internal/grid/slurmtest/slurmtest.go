// Package slurmtest starts a real Slurm cluster on this host for tests: its
// own munged, a slurmctld and two slurmd nodes (n1, n2), with every state,
// spool, PID and log file under one temporary directory. The daemons are
// started directly (no systemd) and stopped by their PID files.
//
// It needs Debian's slurm-wlm and munge and root (Slurm runs as root here,
// munged as the munge user). Without them a test is skipped with the reason,
// unless $CI is set, where it fails.
package slurmtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is a running test cluster.
type Cluster struct {
	// Dir holds the configuration, state and logs.
	Dir string
	// Conf is the slurm.conf path; Env sets SLURM_CONF for clients.
	Conf string
	Env  []string
	// Nodes are the node names.
	Nodes []string
	t     testing.TB
}

// Binaries the cluster needs.
var binaries = []string{"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo"}

// Available says why a cluster cannot start here ("" when it can).
func Available() string {
	for _, b := range binaries {
		if _, err := lookPath(b); err != nil {
			return fmt.Sprintf("%s is not installed (apt-get install slurm-wlm munge)", b)
		}
	}
	if os.Geteuid() != 0 {
		return "the test cluster runs slurmd as root"
	}
	if _, err := user.Lookup("munge"); err != nil {
		return "no munge user (apt-get install munge)"
	}
	if _, err := os.Stat("/etc/munge/munge.key"); err != nil {
		return "no /etc/munge/munge.key"
	}
	return ""
}

// lookPath also searches the sbin directories, which a user's PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Start starts a cluster of two nodes, or skips the test (fails with $CI
// set) when Slurm is not installed here. The cluster stops when the test
// ends. slurmdTimeout is SlurmdTimeout in seconds.
func Start(t testing.TB, slurmdTimeout int) *Cluster {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("Slurm test cluster: %s (with CI set this test must run)", why)
		}
		t.Skipf("Slurm test cluster: %s", why)
	}
	// The munge user must reach its socket: a world-traversable directory.
	dir, err := os.MkdirTemp("", "icnnlab-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Nodes: []string{"n1", "n2"}, t: t}
	c.Env = []string{"SLURM_CONF=" + c.Conf}
	t.Cleanup(func() {
		c.Stop()
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("Slurm test cluster kept for inspection in %s", dir)
		}
	})
	for _, d := range []string{"munge", "state", "spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mu, _ := user.Lookup("munge")
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	if err := os.Chown(filepath.Join(dir, "munge"), uid, gid); err != nil {
		t.Fatal(err)
	}
	munged, _ := lookPath("munged")
	m := filepath.Join(dir, "munge")
	c.run("runuser", "-u", "munge", "--", munged, "--socket="+m+"/munge.socket", "--pid-file="+m+"/munged.pid",
		"--log-file="+m+"/munged.log", "--seed-file="+m+"/munged.seed", "--key-file=/etc/munge/munge.key")

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// Free ports, so that several test runs on one machine (go test ./...
	// of several checkouts) do not meet on Slurm's default ports.
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@DIR@", dir, "@HOST@", host, "@TIMEOUT@", strconv.Itoa(slurmdTimeout),
		"@CTLD_PORT@", strconv.Itoa(ports[0]), "@N1_PORT@", strconv.Itoa(ports[1]), "@N2_PORT@", strconv.Itoa(ports[2])).Replace(confTemplate)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	slurmctld, _ := lookPath("slurmctld")
	c.run(slurmctld, "-f", c.Conf)
	for _, n := range c.Nodes {
		c.StartNode(n)
	}
	c.WaitFor(t, 30*time.Second, "both nodes idle", func() bool {
		out, err := c.Output("sinfo", "-h", "-N", "-o", "%N %T")
		return err == nil && strings.Count(out, " idle") == len(c.Nodes)
	})
	return c
}

// confTemplate is the cluster's slurm.conf; see docs/cluster.md for why
// each directive is there.
const confTemplate = `ClusterName=icnnlabtest
SlurmctldHost=@HOST@(127.0.0.1)
SlurmctldPort=@CTLD_PORT@
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=@DIR@/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=@TIMEOUT@
KillWait=5
MinJobAge=600
MailProg=/bin/true
StateSaveLocation=@DIR@/state
SlurmdSpoolDir=@DIR@/spool/%n
SlurmctldPidFile=@DIR@/slurmctld.pid
SlurmdPidFile=@DIR@/slurmd-%n.pid
SlurmctldLogFile=@DIR@/log/slurmctld.log
SlurmdLogFile=@DIR@/log/slurmd-%n.log
JobCompType=jobcomp/filetxt
JobCompLoc=@DIR@/log/jobcomp.txt
NodeName=n1 NodeHostname=@HOST@ NodeAddr=127.0.0.1 Port=@N1_PORT@ CPUs=1 RealMemory=512
NodeName=n2 NodeHostname=@HOST@ NodeAddr=127.0.0.1 Port=@N2_PORT@ CPUs=1 RealMemory=512
PartitionName=test Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
`

// StartNode starts (or restarts) one node's slurmd.
func (c *Cluster) StartNode(name string) {
	c.t.Helper()
	slurmd, _ := lookPath("slurmd")
	c.run(slurmd, "-f", c.Conf, "-N", name)
}

// NodePID reads a node's slurmd PID file.
func (c *Cluster) NodePID(name string) int {
	return readPID(filepath.Join(c.Dir, "slurmd-"+name+".pid"))
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Stop cancels the cluster's jobs, stops the daemons by their PID files
// (the nodes, the controller, then munged) and waits until each is gone;
// then it kills any slurmstepd of this cluster left behind (a job step
// outlives its slurmd by design).
func (c *Cluster) Stop() {
	if out, err := c.Output("squeue", "-h", "-o", "%i"); err == nil && strings.TrimSpace(out) != "" {
		c.Output("scancel", "--full", "--user=root")
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			out, err := c.Output("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i")
			if err != nil || strings.TrimSpace(out) == "" {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	defer c.killStrays()
	var files []string
	for _, n := range c.Nodes {
		files = append(files, filepath.Join(c.Dir, "slurmd-"+n+".pid"))
	}
	files = append(files, filepath.Join(c.Dir, "slurmctld.pid"), filepath.Join(c.Dir, "munge", "munged.pid"))
	for _, f := range files {
		pid := readPID(f)
		if pid <= 0 || syscall.Kill(pid, syscall.SIGTERM) != nil {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// killStrays kills the slurmstepd processes whose environment names this
// cluster's slurm.conf.
func (c *Cluster) killStrays() {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		comm, err := os.ReadFile(filepath.Join(p, "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "slurmstepd") {
			continue
		}
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil || !bytes.Contains(env, []byte("SLURM_CONF="+c.Conf+"\x00")) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(p)); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// freePorts returns n TCP ports that are free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// run runs a daemon's start command, which forks into the background.
func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out.String(), c.Logs())
	}
}

// Command returns a client command (sbatch, squeue, …) aimed at the cluster.
func (c *Cluster) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	return cmd
}

// Output runs a client command and returns its standard output.
func (c *Cluster) Output(name string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := c.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %v: %w: %s", name, args, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// MustRun runs a client command and fails t if it fails.
func (c *Cluster) MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := c.Output(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// WaitFor polls cond every 200 ms until it holds, failing t after timeout.
func (c *Cluster) WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("waited %v for %s\n%s", timeout, what, c.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}

// Logs returns the tails of the daemons' logs, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(c.Dir, "log", "*.log"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", filepath.Base(p), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}
