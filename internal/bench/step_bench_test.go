package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/pluginhost"
	_ "github.com/icnnlab/icnnlab/plugins/reference" // registers the built-ins this binary serves
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

// envServe makes the test binary serve one built-in plugin, as `icnnlab
// plugin serve` does in the real binary.
const envServe = "ICNNLAB_BENCH_TEST_SERVE"

func TestMain(m *testing.M) {
	if ref := os.Getenv(envServe); ref != "" {
		if err := pluginhost.ServeBuiltin(ref, plugin.WithLogger(hclog.NewNullLogger())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newPluginHost launches built-ins by re-executing this test binary.
func newPluginHost(tb testing.TB) *pluginhost.Host {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	host := pluginhost.New(pluginhost.Options{
		CallTimeout: 60 * time.Second,
		Logger:      hclog.NewNullLogger(),
		BuiltinCommand: func(ref plugin.Ref) (*exec.Cmd, error) {
			cmd := exec.Command(exe)
			cmd.Env = []string{envServe + "=" + ref.String()}
			return cmd, nil
		},
	})
	tb.Cleanup(host.Close)
	return host
}

// BenchmarkGorgoniaStep times one training step of each workload the CPU
// runs (batch 32, the bench's optimizer and random batch) on the gorgonia
// backend, after three warm-up steps. With -benchmem, allocs/op and B/op
// are the Go allocations of one steady-state step:
//
//	go test -run '^$' -bench GorgoniaStep -benchmem -benchtime 10x ./internal/bench
func BenchmarkGorgoniaStep(b *testing.B) {
	for _, workload := range []string{"small64", "vggm-112"} {
		for _, interpretable := range []bool{false, true} {
			name := workload + "/ordinary"
			if interpretable {
				name = workload + "/interpretable"
			}
			b.Run(name, func(b *testing.B) {
				w, err := Lookup(workload)
				if err != nil {
					b.Fatal(err)
				}
				if interpretable {
					w = interpretableWorkload(context.Background(), workload, newPluginHost(b))
				}
				const batch = 32
				net, err := w.Build(batch)
				if err != nil {
					b.Fatal(err)
				}
				exe, err := gorgonia.Backend{}.Compile(net.Graph, backends.CompileOptions{Seed: DefaultSeed, Optimizer: Optimizer})
				if err != nil {
					b.Fatal(err)
				}
				defer exe.Close()
				feeds := randomFeeds(net.Graph, net.Labels, DefaultSeed)
				for range 3 {
					if _, err := exe.TrainStep(feeds, LossOutput); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for range b.N {
					if _, err := exe.TrainStep(feeds, LossOutput); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
