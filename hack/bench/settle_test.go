package main

import "testing"

func TestParseCPUStat(t *testing.T) {
	for _, tc := range []struct {
		line        string
		idle, total uint64
		bad         bool
	}{
		{line: "cpu  100 5 50 800 40 1 2 3 7 0", idle: 840, total: 1001},
		{line: "cpu  100 0 50 800 40", idle: 840, total: 990},
		{line: "cpu0 100 0 50 800 40 0 0 0", bad: true},
		{line: "cpu  100 x 50 800 40 0 0 0", bad: true},
		{line: "cpu  1 2", bad: true},
		{line: "cpu  0 0 0 0 0 0 0 0", bad: true},
		{line: "", bad: true},
	} {
		idle, total, err := parseCPUStat(tc.line)
		if tc.bad != (err != nil) || idle != tc.idle || total != tc.total {
			t.Errorf("parseCPUStat(%q) = %d, %d, %v; want %d, %d, error %v", tc.line, idle, total, err, tc.idle, tc.total, tc.bad)
		}
	}
}

func TestQuiet(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		idle0, total0, idle1, total1 uint64
		ncpu                         int
		want                         bool
	}{
		{"idle, 2 CPUs", 0, 0, 49, 50, 2, true},
		{"one CPU busy of 2", 0, 0, 25, 50, 2, false},
		{"a tenth of one CPU busy, 2 CPUs", 0, 0, 95, 100, 2, true},
		{"one CPU busy of 64", 0, 0, 63, 64, 64, false},
		{"idle, 64 CPUs", 0, 0, 6399, 6400, 64, true},
		{"no time passed", 10, 10, 10, 10, 2, false},
		{"iowait went backwards", 100, 200, 90, 300, 2, false},
		{"more idle than time", 0, 0, 60, 50, 2, false},
	} {
		if got := quiet(tc.idle0, tc.total0, tc.idle1, tc.total1, tc.ncpu); got != tc.want {
			t.Errorf("%s: quiet = %v, want %v", tc.name, got, tc.want)
		}
	}
}
