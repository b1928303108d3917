package grid

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/icnnlab/icnnlab/internal/reproduce/execute"
	"github.com/icnnlab/icnnlab/internal/reproduce/report"
	"github.com/icnnlab/icnnlab/internal/runstore"
)

// State of a task, as the run store shows it.
type State string

const (
	StateDone    State = "done"
	StateRunning State = "running"
	StateFailed  State = "failed"
	StateCorrupt State = "corrupt"
	StateWaiting State = "not started"
)

// TaskStatus is one task's progress.
type TaskStatus struct {
	Index int
	Key   string
	State State
	// Holder and Heartbeat describe a running task's claim.
	Holder    runstore.ClaimInfo
	Heartbeat time.Duration
	// Step is a running task's last reported training step (0: none yet).
	Step int64
	// Detail is the error of a failed or corrupt task.
	Detail string
	Result *Result
}

// Status reads every task's state from the run store: a result means done,
// a claim running, an error file failed.
func Status(p *Plan) ([]TaskStatus, error) {
	out := make([]TaskStatus, len(p.Tasks))
	for i, t := range p.Tasks {
		st := TaskStatus{Index: i, Key: t.Key, State: StateWaiting}
		res, err := ReadResult(p, i)
		switch {
		case err == nil:
			st.State, st.Result = StateDone, res
		case errors.Is(err, runstore.ErrCorrupt):
			st.State, st.Detail = StateCorrupt, err.Error()
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		if st.State == StateWaiting {
			if info, age, err := runstore.ReadClaim(p.TaskDir(i)); err == nil {
				st.State, st.Holder, st.Heartbeat = StateRunning, info, age
				if pr, err := ReadProgress(p, i); err == nil && pr.Updated.After(info.Started) {
					st.Step = pr.Step
				}
			} else {
				var te TaskError
				if err := runstore.ReadJSON(filepath.Join(p.TaskDir(i), ErrorFile), &te); err == nil {
					st.State, st.Detail = StateFailed, te.Error
				}
			}
		}
		out[i] = st
	}
	return out, nil
}

// MissingError lists the tasks that have no result yet.
type MissingError struct {
	Grid    string
	Missing []int
	Total   int
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("grid %s: %d of %d tasks have no result yet (indexes %s): see `icnnlab grid status`", e.Grid, len(e.Missing), e.Total, ranges(e.Missing))
}

// Collect gathers every task's result and builds the reproduction's report
// from them, exactly as a local run builds it from its own results.
func Collect(p *Plan) (*report.Report, error) {
	results := map[string]*execute.RunResult{}
	var missing []int
	var last time.Time
	for i := range p.Tasks {
		res, err := ReadResult(p, i)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, i)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("collect grid %s: %w (rerun the task: icnnlab grid run %s %d)", p.Name, err, filepath.Join(p.Dir, PlanFile), i)
		}
		results[res.Key] = res.Run
		if res.Finished.After(last) {
			last = res.Finished
		}
	}
	if len(missing) > 0 {
		return nil, &MissingError{Grid: p.Name, Missing: missing, Total: len(p.Tasks)}
	}
	report, err := report.BuildReport(p.Repro, results)
	if err != nil {
		return nil, err
	}
	report.Backend = p.Backend
	report.WallSeconds = last.Sub(p.Created).Seconds()
	return report, nil
}

// ranges formats sorted indexes as Slurm's --array does: 0-3,5,7-8.
func ranges(idx []int) string {
	s := ""
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if s != "" {
			s += ","
		}
		if j > i {
			s += fmt.Sprintf("%d-%d", idx[i], idx[j])
		} else {
			s += fmt.Sprint(idx[i])
		}
		i = j + 1
	}
	return s
}
