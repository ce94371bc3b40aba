package badinput

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// tally counts cases and reproduced known gaps per area for the summary.
type tally struct {
	mu    sync.Mutex
	cases map[string]int
	gaps  map[string][]string
}

func newTally() *tally { return &tally{cases: map[string]int{}, gaps: map[string][]string{}} }

// verdict checks one case. problems are the expectations that did not
// hold. A case with a gap marker documents a known shortcoming of another
// package: its problems are logged (and counted) instead of failing the
// test, and the marker itself fails once the shortcoming is fixed, so it
// cannot outlive the gap.
func (tl *tally) verdict(t *testing.T, area, gap string, problems []string) {
	t.Helper()
	tl.mu.Lock()
	tl.cases[area]++
	tl.mu.Unlock()
	switch {
	case gap == "":
		for _, p := range problems {
			t.Error(p)
		}
	case len(problems) == 0:
		t.Errorf("known gap %q no longer reproduces: remove the gap marker", gap)
	default:
		tl.mu.Lock()
		tl.gaps[area] = append(tl.gaps[area], fmt.Sprintf("%s (%s)", t.Name(), gap))
		tl.mu.Unlock()
		t.Logf("KNOWN GAP (%s): %s", gap, strings.Join(problems, "; "))
	}
}

// summary is one line per area: cases and reproduced known gaps.
func (tl *tally) summary() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	areas := make([]string, 0, len(tl.cases))
	total := 0
	for a, n := range tl.cases {
		areas = append(areas, a)
		total += n
	}
	sort.Strings(areas)
	var b strings.Builder
	fmt.Fprintf(&b, "bad-input cases: %d\n", total)
	for _, a := range areas {
		fmt.Fprintf(&b, "  %-40s %3d cases, %d known gaps\n", a, tl.cases[a], len(tl.gaps[a]))
		for _, g := range tl.gaps[a] {
			fmt.Fprintf(&b, "    gap: %s\n", g)
		}
	}
	return b.String()
}

// errorProblems checks that err is non-nil and names every field.
func errorProblems(err error, fields ...string) []string {
	if err == nil {
		return []string{"no error"}
	}
	var out []string
	for _, f := range fields {
		if !namesField(err.Error(), f) {
			out = append(out, fmt.Sprintf("error %q does not name %s", err, f))
		}
	}
	return out
}
