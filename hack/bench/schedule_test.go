package main

import "testing"

// pairCounts counts, over the measured rounds, how often each subject ran
// right after each subject, the first measured run excepted.
func pairCounts(k, warmup int, rounds [][]int) [][]int {
	seen := make([][]int, k)
	for i := range seen {
		seen[i] = make([]int, k)
	}
	prev := -1
	for i, r := range rounds {
		for _, x := range r {
			if prev >= 0 && i >= warmup {
				seen[prev][x]++
			}
			prev = x
		}
	}
	return seen
}

func TestScheduleIsPermutations(t *testing.T) {
	for _, order := range []string{orderBalanced, orderRotate} {
		for k := 0; k <= maxBalanced+1; k++ {
			rounds, err := schedule(order, k, 2, 5)
			if err != nil {
				t.Fatalf("schedule(%s, %d): %v", order, k, err)
			}
			if len(rounds) != 7 {
				t.Fatalf("schedule(%s, %d): %d rounds, want 7", order, k, len(rounds))
			}
			for i, r := range rounds {
				used := make([]bool, k)
				for _, x := range r {
					if x < 0 || x >= k || used[x] {
						t.Fatalf("schedule(%s, %d) round %d = %v: not a permutation", order, k, i, r)
					}
					used[x] = true
				}
				if len(r) != k {
					t.Fatalf("schedule(%s, %d) round %d = %v: want %d entries", order, k, i, r, k)
				}
			}
		}
	}
}

func TestScheduleBalanced(t *testing.T) {
	tests := []struct {
		k, warmup, rounds int
		maxSpread         int // max - min over all k*k predecessor counts
	}{
		{2, 3, 50, 2},
		{3, 3, 50, 3},
		{3, 0, 60, 3},
		{4, 3, 50, 3},
		{5, 1, 50, 3},
	}
	for _, tc := range tests {
		rounds, err := schedule(orderBalanced, tc.k, tc.warmup, tc.rounds)
		if err != nil {
			t.Fatal(err)
		}
		seen := pairCounts(tc.k, tc.warmup, rounds)
		lo, hi := seen[0][0], seen[0][0]
		for _, row := range seen {
			for _, c := range row {
				lo, hi = min(lo, c), max(hi, c)
			}
		}
		if hi-lo > tc.maxSpread {
			t.Errorf("k=%d warmup=%d rounds=%d: predecessor counts %v spread %d, want <= %d",
				tc.k, tc.warmup, tc.rounds, seen, hi-lo, tc.maxSpread)
		}
	}
}

func TestScheduleRotate(t *testing.T) {
	rounds, err := schedule(orderRotate, 3, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 1, 2}}
	for i := range want {
		for j := range want[i] {
			if rounds[i][j] != want[i][j] {
				t.Fatalf("rotate = %v, want %v", rounds, want)
			}
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	tests := []struct {
		order             string
		k, warmup, rounds int
	}{
		{"random", 3, 0, 1},
		{orderBalanced, -1, 0, 1},
		{orderBalanced, 3, -1, 1},
		{orderRotate, 3, 0, -1},
	}
	for _, tc := range tests {
		if _, err := schedule(tc.order, tc.k, tc.warmup, tc.rounds); err == nil {
			t.Errorf("schedule(%q, %d, %d, %d): want an error", tc.order, tc.k, tc.warmup, tc.rounds)
		}
	}
}
