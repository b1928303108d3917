package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSummarise(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want StepStats
	}{
		{"empty", nil, StepStats{}},
		{"one", ms(7), StepStats{Mean: 7, Median: 7, P90: 7, Min: 7, Max: 7}},
		// numpy.percentile([1,2,3,4], [50,90]) = [2.5, 3.7]
		{"four unsorted", ms(4, 1, 3, 2), StepStats{Mean: 2.5, Median: 2.5, P90: 3.7, Min: 1, Max: 4}},
		// numpy.percentile(range(1,12), [50,90]) = [6, 10]
		{"eleven", ms(11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), StepStats{Mean: 6, Median: 6, P90: 10, Min: 1, Max: 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarise(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("summarise (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    float64
		wantErr string
	}{
		{"linux status", "Name:\ticnnlab\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1024 kB\n", 200, ""},
		{"missing", "Name:\tx\n", 0, "no VmHWM line"},
		{"bad unit", "VmHWM:\t12 MB\n", 0, "unexpected VmHWM line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM(strings.NewReader(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v MiB, want %v", got, tt.want)
			}
		})
	}
}
