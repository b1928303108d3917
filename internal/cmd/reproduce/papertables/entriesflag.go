package papertables

import (
	"maps"
	"slices"
	"strings"
)

// entriesFlag is a flag of KEY=VALUE entries into a map, given
// comma-separated or by repeating the flag: --init-weights and --data. add
// checks one entry (space trimmed) and stores it.
type entriesFlag struct {
	m   *map[string]string
	typ string
	add func(m map[string]string, item string) error
}

// String lists the entries sorted by key, as Set reads them back.
func (f entriesFlag) String() string {
	if f.m == nil || len(*f.m) == 0 {
		return ""
	}
	var entries []string
	for _, k := range slices.Sorted(maps.Keys(*f.m)) {
		entries = append(entries, k+"="+(*f.m)[k])
	}
	return strings.Join(entries, ",")
}

func (f entriesFlag) Type() string { return f.typ }

func (f entriesFlag) Set(v string) error {
	if *f.m == nil {
		*f.m = map[string]string{}
	}
	for _, item := range strings.Split(v, ",") {
		if err := f.add(*f.m, strings.TrimSpace(item)); err != nil {
			return err
		}
	}
	return nil
}
