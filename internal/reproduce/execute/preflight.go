package execute

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/catalog"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/train"
)

// Preflight builds the datasets of every real-data run of the plan and
// reads each of their examples once (images decoded, part masks and
// landmarks mapped into the crop), so that a missing or corrupt image or
// annotation fails before any training, naming the file. It also refuses
// a training set smaller than one batch.
func Preflight(p *plan.Plan, srcs catalog.Sources, log io.Writer) error {
	checked := map[string]bool{}
	for _, pr := range p.Runs {
		if pr.Dataset == "" {
			continue
		}
		src, ok := srcs[pr.Dataset]
		if !ok {
			return fmt.Errorf("run %s: dataset %s was not opened (--data %s=PATH)", pr.Key, pr.Dataset, pr.Dataset)
		}
		tr, te, err := src.Datasets(pr.Config.Data)
		if err != nil {
			return fmt.Errorf("run %s: %s: %w", pr.Key, pr.Dataset, err)
		}
		if tr.Len() < pr.Config.Batch {
			return fmt.Errorf("run %s: %s has %d training examples for this task (%s), fewer than one batch of %d",
				pr.Key, pr.Dataset, tr.Len(), taskWords(pr.Config.Data), pr.Config.Batch)
		}
		for _, ds := range []data.Dataset{tr, te} {
			task, ok := ds.(*partset.Task)
			if !ok {
				continue // Fashion-MNIST: read and checked when opened
			}
			var todo []int
			for i := range task.Len() {
				c, o := task.Object(i)
				key := c.Source + "/" + c.Split + "/" + o.Key
				if !checked[key] {
					checked[key] = true
					todo = append(todo, i)
				}
			}
			if len(todo) == 0 {
				continue
			}
			if log != nil {
				fmt.Fprintf(log, "checking the images and annotations of %d %s objects (%s)\n", len(todo), pr.Dataset, pr.Key)
			}
			if err := checkExamples(task, todo); err != nil {
				return fmt.Errorf("run %s: %w", pr.Key, err)
			}
		}
	}
	return nil
}

func taskWords(c train.DataConfig) string {
	if c.Task == "single" {
		return "single-category " + c.Target
	}
	return fmt.Sprintf("multi-category, %d categories", c.Categories)
}

// checkExamples reads the examples idx of task in parallel: the image, and
// the part ground truth mapped into the crop; the first error (in index
// order) is returned.
func checkExamples(task *partset.Task, idx []int) error {
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtime.NumCPU()) {
		wg.Go(func() {
			for k := range next {
				i := idx[k]
				if _, err := task.Example(i); err != nil {
					errs[k] = fmt.Errorf("example %d: %w", i, err)
					continue
				}
				if _, err := task.Annotations([]int{i}); err != nil && !errors.Is(err, partset.ErrNoPartAnnotations) {
					errs[k] = fmt.Errorf("example %d: annotations: %w", i, err)
				}
			}
		})
	}
	for k := range idx {
		next <- k
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
