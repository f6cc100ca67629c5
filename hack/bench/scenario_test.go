package main

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunScenarioHooks runs a scenario of /bin/true under hooks: a measure
// that fails every other round of one subject, and a before hook that fails
// once, and checks what reaches the result and the CSV.
func TestRunScenarioHooks(t *testing.T) {
	truePath, r := trueRunner(t)
	a := &subject{label: "a", path: truePath}
	b := &subject{label: "b", path: truePath}
	var before, after []string
	failedOnce := false
	runs := map[string]int{}
	sc := &scenario{
		name:     "hooks",
		subjects: []*subject{a, b},
		rounds:   4,
		command:  func(s *subject, _ string) []string { return []string{s.path} },
		before: func(_ context.Context, _ *runner, s *subject, id string) error {
			before = append(before, id)
			if s == b && !failedOnce {
				failedOnce = true
				return errors.New("no box")
			}
			return nil
		},
		after: func(_ context.Context, _ *runner, _ *subject, id string) { after = append(after, id) },
		measure: func(s *subject, _ string, out runResult) (float64, error) {
			if out.err != nil {
				return math.NaN(), out.err
			}
			runs[s.label]++
			if s == b && runs[s.label]%2 == 0 {
				return math.NaN(), errors.New("wrong verdict")
			}
			return float64(runs[s.label]), nil
		},
	}
	csvPath := filepath.Join(t.TempDir(), "out.csv")
	rec, err := openCSV(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	opt := options{rounds: 99, warmup: 1, order: orderRotate, idPrefix: "t"}
	res, err := runScenario(context.Background(), r, sc, opt, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.close(); err != nil {
		t.Fatal(err)
	}
	if res.rounds != 4 {
		t.Errorf("rounds = %d, want sc.rounds 4", res.rounds)
	}
	if !slices.Equal(before, after) || len(before) != 10 {
		t.Errorf("before %v and after %v: want the same 10 runs", before, after)
	}
	// a: runs 1 (warm-up), 2..5 measured. b: the warm-up run fails in
	// before; measured runs 1..4, even ones wrong.
	if want := []float64{2, 3, 4, 5}; !slices.Equal(res.ms["a"], want) {
		t.Errorf("a = %v, want %v", res.ms["a"], want)
	}
	if want := []float64{1, 3}; !slices.Equal(res.ms["b"], want) {
		t.Errorf("b = %v, want %v", res.ms["b"], want)
	}
	if want := []int{1, 3}; !slices.Equal(res.msRound["b"], want) {
		t.Errorf("b rounds = %v, want %v", res.msRound["b"], want)
	}
	if res.failures["a"] != 0 || res.failures["b"] != 3 {
		t.Errorf("failures = %v, want b: 3", res.failures)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 11 {
		t.Fatalf("CSV has %d lines, want a header and 10 runs:\n%s", len(lines), data)
	}
	for _, want := range []string{"hooks,b,0,,-1", "hooks,b,1,1.000,0", "hooks,b,2,,0", "hooks,a,4,5.000,0"} {
		if !slices.Contains(lines, want) {
			t.Errorf("CSV lacks %q:\n%s", want, data)
		}
	}
}

// trueRunner returns the path of true(1) and a runner in a temporary
// directory, closed with the test.
func trueRunner(t *testing.T) (string, *runner) {
	t.Helper()
	truePath, err := resolveExecutable("true")
	if err != nil {
		t.Skip(err)
	}
	r, err := newRunner(t.TempDir(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.close() })
	return truePath, r
}
