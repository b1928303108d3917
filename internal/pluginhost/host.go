package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/plugin/protocol"
	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
)

// Defaults for Options.
const (
	DefaultCallTimeout  = 60 * time.Second
	DefaultStartTimeout = 30 * time.Second
)

// Options configure a Host.
type Options struct {
	// Dir is the external plugin directory (see ResolveDir); empty: none.
	Dir string
	// CallTimeout bounds every call into a plugin; a plugin that does not
	// answer in time is stopped. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// StartTimeout bounds a plugin's start-up handshake.
	StartTimeout time.Duration
	// Logger receives go-plugin's log and the plugins' stderr. Nil: warnings
	// and errors to os.Stderr.
	Logger hclog.Logger
	// MaxMessageBytes is the largest gRPC message the host receives from or
	// sends to a plugin. Zero means protocol.MaxMessageBytes; tests lower it
	// to check the refusal of an oversized answer without building one.
	MaxMessageBytes int
	// BuiltinCommand builds the command that serves a built-in plugin.
	// Nil: this executable with arguments "plugin serve KIND/NAME". Tests
	// replace it to re-execute the test binary.
	BuiltinCommand func(ref plugin.Ref) (*exec.Cmd, error)
}

// Host launches plugins on demand and keeps each running until Close, so
// repeated calls reuse one process. It is safe for concurrent use.
type Host struct {
	opts Options

	mu      sync.Mutex
	running map[plugin.Ref]*instance

	selfOnce sync.Once
	selfPath string
	selfSum  []byte
	selfErr  error
}

// New returns a Host; nothing is launched until a plugin is asked for.
func New(opts Options) *Host {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = protocol.MaxMessageBytes
	}
	if opts.Logger == nil {
		opts.Logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: os.Stderr})
	}
	return &Host{opts: opts, running: map[plugin.Ref]*instance{}}
}

// CallTimeout is the per-call limit in force.
func (h *Host) CallTimeout() time.Duration { return h.opts.CallTimeout }

// Candidates lists every plugin this host can launch.
func (h *Host) Candidates() ([]Candidate, error) { return Discover(h.opts.Dir) }

// Resolve finds the one plugin called ref. A name that is both built in and
// present in the plugin directory is refused rather than silently picking
// one: a run's results must not depend on which copy happened to win.
func (h *Host) Resolve(ref plugin.Ref) (Candidate, error) {
	cands, err := h.Candidates()
	if err != nil {
		return Candidate{}, err
	}
	var found []Candidate
	for _, c := range cands {
		if c.Ref == ref {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		if path, ok := notExecutable(h.opts.Dir, ref); ok {
			return Candidate{}, fmt.Errorf("plugin %s: %s is not executable; make it so with: chmod +x %s", ref, path, path)
		}
		return Candidate{}, fmt.Errorf("no plugin %s: not built in, and no executable %s%s-%s in plugin directory %q",
			ref, BinaryPrefix, ref.Kind, ref.Name, h.opts.Dir)
	case 1:
		return found[0], nil
	}
	return Candidate{}, fmt.Errorf("plugin %s is both %s and %s: remove or rename one", ref, found[0].Source(), found[1].Source())
}

// Described is a launched plugin's identity.
type Described struct {
	Candidate
	Info plugin.Info
	// Protocol is the protocol major version negotiated.
	Protocol int
	// SHA256 is the hash of the executable that serves it.
	SHA256 []byte
}

// Describe launches ref (or reuses its process) and returns what it says
// about itself.
func (h *Host) Describe(ctx context.Context, ref plugin.Ref) (Described, error) {
	inst, err := h.instance(ctx, ref)
	if err != nil {
		return Described{}, err
	}
	return inst.described(), nil
}

// Mask returns the mask plugin ref, launched.
func (h *Host) Mask(ctx context.Context, ref plugin.Ref) (plugin.Mask, error) {
	inst, err := h.instanceOfKind(ctx, ref, plugin.KindMask)
	if err != nil {
		return nil, err
	}
	return &remoteMask{remote{h: h, inst: inst}}, nil
}

// Loss returns the loss plugin ref, launched.
func (h *Host) Loss(ctx context.Context, ref plugin.Ref) (plugin.Loss, error) {
	inst, err := h.instanceOfKind(ctx, ref, plugin.KindLoss)
	if err != nil {
		return nil, err
	}
	return &remoteLoss{remote{h: h, inst: inst}}, nil
}

// Metric returns the metric plugin ref, launched.
func (h *Host) Metric(ctx context.Context, ref plugin.Ref) (plugin.Metric, error) {
	inst, err := h.instanceOfKind(ctx, ref, plugin.KindMetric)
	if err != nil {
		return nil, err
	}
	return &remoteMetric{remote{h: h, inst: inst}}, nil
}

// Visualizer returns the visualizer plugin ref, launched.
func (h *Host) Visualizer(ctx context.Context, ref plugin.Ref) (plugin.Visualizer, error) {
	inst, err := h.instanceOfKind(ctx, ref, plugin.KindVisualizer)
	if err != nil {
		return nil, err
	}
	return &remoteVisualizer{remote{h: h, inst: inst}}, nil
}

// Close stops every plugin process.
func (h *Host) Close() {
	h.mu.Lock()
	insts := h.running
	h.running = map[plugin.Ref]*instance{}
	h.mu.Unlock()
	for _, inst := range insts {
		inst.stop()
	}
}

func (h *Host) instanceOfKind(ctx context.Context, ref plugin.Ref, kind plugin.Kind) (*instance, error) {
	if ref.Kind != kind {
		return nil, fmt.Errorf("plugin %s is a %s plugin, not a %s plugin", ref, ref.Kind, kind)
	}
	return h.instance(ctx, ref)
}

// instance returns the running process for ref, launching it if there is
// none or the previous one has exited.
func (h *Host) instance(ctx context.Context, ref plugin.Ref) (*instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if inst, ok := h.running[ref]; ok {
		if !inst.client.Exited() {
			return inst, nil
		}
		delete(h.running, ref)
	}
	cand, err := h.Resolve(ref)
	if err != nil {
		return nil, err
	}
	inst, err := h.launch(ctx, cand)
	if err != nil {
		return nil, err
	}
	h.running[ref] = inst
	return inst, nil
}

// forget drops inst from the cache (if it is still the cached one) and
// stops its process.
func (h *Host) forget(inst *instance) {
	h.mu.Lock()
	if h.running[inst.cand.Ref] == inst {
		delete(h.running, inst.cand.Ref)
	}
	h.mu.Unlock()
	inst.stop()
}

func (h *Host) self() (string, []byte, error) {
	h.selfOnce.Do(func() {
		h.selfPath, h.selfErr = os.Executable()
		if h.selfErr == nil {
			h.selfSum, h.selfErr = FileSHA256(h.selfPath)
		}
	})
	return h.selfPath, h.selfSum, h.selfErr
}

func (h *Host) command(cand Candidate) (*exec.Cmd, []byte, error) {
	if !cand.Builtin {
		sum, err := VerifyBinary(cand.Path)
		if err != nil {
			return nil, nil, err
		}
		return exec.Command(cand.Path), sum, nil
	}
	var cmd *exec.Cmd
	if h.opts.BuiltinCommand != nil {
		var err error
		if cmd, err = h.opts.BuiltinCommand(cand.Ref); err != nil {
			return nil, nil, err
		}
	} else {
		exe, _, err := h.self()
		if err != nil {
			return nil, nil, fmt.Errorf("re-execute icnnlab for built-in plugins: %w", err)
		}
		cmd = exec.Command(exe, "plugin", "serve", cand.Ref.String())
	}
	// The executable re-run for built-ins is checked like an external
	// plugin, against its hash taken when first needed: a binary replaced
	// while icnnlab runs (an upgrade) is not silently mixed in.
	sum, err := h.sumOf(cmd.Path)
	return cmd, sum, err
}

func (h *Host) sumOf(path string) ([]byte, error) {
	if self, sum, err := h.self(); err == nil && self == path {
		return sum, nil
	}
	return FileSHA256(path)
}

func (h *Host) launch(ctx context.Context, cand Candidate) (*instance, error) {
	cmd, sum, err := h.command(cand)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", cand.Ref, err)
	}
	tieToHost(cmd)
	stderr := newTail(4 << 10)
	logger := newStopLogger(h.opts.Logger)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{protocolv1.Version: protocolv1.ClientPlugins()},
		Cmd:              cmd,
		SecureConfig:     &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(h.opts.MaxMessageBytes), grpc.MaxCallSendMsgSize(h.opts.MaxMessageBytes))},
		StartTimeout: h.opts.StartTimeout,
		Logger:       logger,
		Stderr:       stderr.writer(),
		SyncStderr:   stderr.writer(),
	})
	inst := &instance{cand: cand, client: client, cmd: cmd, stderr: stderr, sha256: sum, maxMessage: h.opts.MaxMessageBytes, stopping: logger.stopping}
	if err := inst.connect(ctx, h.opts.CallTimeout); err != nil {
		inst.stop()
		return nil, err
	}
	return inst, nil
}

// instance is one running plugin process.
type instance struct {
	cand   Candidate
	client *goplugin.Client
	cmd    *exec.Cmd // started by client
	// maxMessage is the gRPC message limit of the connection.
	maxMessage int
	stderr     *tail
	sha256     []byte
	protocol   int
	raw        any // protocolv1.Mask, …
	info       plugin.Info
	// stopping is set when the host stops the process on purpose, which
	// quiets go-plugin's report of its exit (stopLogger).
	stopping *atomic.Bool
}

func (inst *instance) described() Described {
	return Described{Candidate: inst.cand, Info: inst.info, Protocol: inst.protocol, SHA256: inst.sha256}
}

func (inst *instance) connect(ctx context.Context, timeout time.Duration) error {
	rpc, err := inst.client.Client()
	if err != nil {
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			return inst.fail("start", "the executable changed after its checksum was verified", err)
		}
		return inst.fail("start", "could not start", err)
	}
	inst.protocol = inst.client.NegotiatedVersion()
	raw, err := rpc.Dispense(string(inst.cand.Ref.Kind))
	if err != nil {
		return inst.fail("start", fmt.Sprintf("protocol version %d has no %s plugins", inst.protocol, inst.cand.Ref.Kind), err)
	}
	inst.raw = raw
	getInfo, ok := raw.(interface {
		GetInfo(context.Context) (protocolv1.Info, error)
	})
	if !ok {
		return inst.fail("start", fmt.Sprintf("protocol version %d client %T has no GetInfo", inst.protocol, raw), nil)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wire, err := getInfo.GetInfo(cctx)
	if err != nil {
		e := inst.classify(ctx, cctx, "GetInfo", err, timeout)
		if pe, ok := e.(*Error); ok {
			pe.Stderr = inst.stderr.String()
		}
		return e
	}
	info, err := plugin.InfoFromV1(wire)
	if err != nil {
		return inst.fail("GetInfo", "sent an invalid description", err)
	}
	if info.Kind != inst.cand.Ref.Kind || info.Name != inst.cand.Ref.Name {
		return inst.fail("GetInfo", nameMismatch(inst.cand, info), nil)
	}
	inst.info = info
	return nil
}

// tail keeps the last lines a plugin wrote to stderr, so that the error
// for a crashed plugin can show its last words. Lines come from two
// sources, each through its own writer: the process's real stderr (where
// the Go runtime prints a fatal panic) and go-plugin's forwarded os.Stderr.
// go-plugin's own debug and trace log lines (JSON) are left out: they
// would crowd out a panic message and are in the host's log anyway.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

// writer returns an io.Writer for one source.
func (t *tail) writer() io.Writer { return &tailWriter{t: t} }

func (t *tail) addLine(line []byte) {
	if bytes.HasPrefix(line, []byte(`{"@level":"debug"`)) || bytes.HasPrefix(line, []byte(`{"@level":"trace"`)) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

type tailWriter struct {
	t       *tail
	partial []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.t.addLine(w.partial[:i+1])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > w.t.max {
		w.t.addLine(append(w.partial, '\n'))
		w.partial = nil
	}
	return len(p), nil
}
