package main

import (
	"errors"
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"single sample", []float64{7}, 50, 7},
		{"single sample p0", []float64{7}, 0, 7},
		{"single sample p100", []float64{7}, 100, 7},
		{"odd median", []float64{3, 1, 2}, 50, 2},
		{"even median is mean of middle pair", []float64{4, 1, 3, 2}, 50, 2.5},
		{"min", []float64{5, 1, 9}, 0, 1},
		{"max", []float64{5, 1, 9}, 100, 9},
		{"p10 interpolates", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 10, 2},
		{"p90 interpolates", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9.1},
		{"p10 of ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 10, 1.9},
		{"duplicates", []float64{2, 2, 2, 2}, 90, 2},
		{"negative values", []float64{-3, -1, -2}, 50, -2},
		{"fractional p", []float64{0, 10}, 12.5, 1.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := percentile(tc.xs, tc.p)
			if err != nil {
				t.Fatalf("percentile(%v, %v): %v", tc.xs, tc.p, err)
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileErrors(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
	}{
		{"nil", nil, 50},
		{"empty", []float64{}, 50},
		{"p below 0", []float64{1}, -1},
		{"p above 100", []float64{1}, 100.5},
		{"p NaN", []float64{1}, math.NaN()},
		{"NaN sample", []float64{1, math.NaN()}, 50},
		{"Inf sample", []float64{math.Inf(1), 1}, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := percentile(tc.xs, tc.p); err == nil {
				t.Errorf("percentile(%v, %v) = %v, want an error", tc.xs, tc.p, got)
			}
		})
	}
}

func TestPercentileKeepsInput(t *testing.T) {
	xs := []float64{3, 1, 2}
	if _, err := median(xs); err != nil {
		t.Fatal(err)
	}
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("input reordered to %v", xs)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want summary
	}{
		{"one", []float64{4}, summary{N: 1, Median: 4, P10: 4, P90: 4, Min: 4, Max: 4}},
		{"two", []float64{2, 1}, summary{N: 2, Median: 1.5, P10: 1.1, P90: 1.9, Min: 1, Max: 2}},
		{
			"eleven",
			[]float64{11, 1, 10, 2, 9, 3, 8, 4, 7, 5, 6},
			summary{N: 11, Median: 6, P10: 2, P90: 10, Min: 1, Max: 11},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarize(tc.xs)
			if err != nil {
				t.Fatal(err)
			}
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if got.N != tc.want.N || !near(got.Median, tc.want.Median) || !near(got.P10, tc.want.P10) ||
				!near(got.P90, tc.want.P90) || !near(got.Min, tc.want.Min) || !near(got.Max, tc.want.Max) {
				t.Errorf("summarize(%v) = %+v, want %+v", tc.xs, got, tc.want)
			}
		})
	}
}

func TestSummarizeEmpty(t *testing.T) {
	if _, err := summarize(nil); !errors.Is(err, errNoSamples) {
		t.Errorf("summarize(nil) error = %v, want %v", err, errNoSamples)
	}
}
