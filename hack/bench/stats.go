package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// errNoSamples is returned for statistics of an empty series.
var errNoSamples = errors.New("no samples")

// summary holds the order statistics of one series, in the series' unit.
type summary struct {
	N      int
	Median float64
	P10    float64
	P90    float64
	Min    float64
	Max    float64
}

// summarize computes the summary of xs, which need not be sorted.
func summarize(xs []float64) (summary, error) {
	s, err := sortedCopy(xs)
	if err != nil {
		return summary{}, err
	}
	return summary{
		N:      len(s),
		Median: percentileSorted(s, 50),
		P10:    percentileSorted(s, 10),
		P90:    percentileSorted(s, 90),
		Min:    s[0],
		Max:    s[len(s)-1],
	}, nil
}

// median returns the 50th percentile of xs.
func median(xs []float64) (float64, error) {
	return percentile(xs, 50)
}

// percentile returns the p-th percentile (0 <= p <= 100) of xs, interpolating
// linearly between the closest ranks (the default of numpy and R type 7), so
// that the median of an even-length series is the mean of its middle pair.
func percentile(xs []float64, p float64) (float64, error) {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return 0, fmt.Errorf("percentile %v out of range [0, 100]", p)
	}
	s, err := sortedCopy(xs)
	if err != nil {
		return 0, err
	}
	return percentileSorted(s, p), nil
}

// sortedCopy returns xs sorted, rejecting series that have no defined order.
func sortedCopy(xs []float64) ([]float64, error) {
	if len(xs) == 0 {
		return nil, errNoSamples
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("sample %d is %v", i, x)
		}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s, nil
}

// percentileSorted expects a non-empty sorted slice and 0 <= p <= 100.
func percentileSorted(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
