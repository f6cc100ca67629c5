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
