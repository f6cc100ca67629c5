package main

import "fmt"

// Run orders. A run is slowed by what the run before it left behind (on the
// 2-CPU test VM a runc run right after another runc run took about 5 ms more
// than one right after crun). A plain rotation of three runtimes A B C keeps
// B right after A in two rounds out of three, so that cost lands unevenly.
// The balanced order makes every runtime follow every runtime, itself
// included (at round boundaries), about equally often.
const (
	orderBalanced = "balanced"
	orderRotate   = "rotate"
)

// maxBalanced caps the subjects the balanced order handles: it tries all
// k! orders each round.
const maxBalanced = 7

// schedule returns, for each of warmup+rounds rounds, the order in which the
// k subjects run, as a permutation of 0..k-1.
func schedule(order string, k, warmup, rounds int) ([][]int, error) {
	if k < 0 || warmup < 0 || rounds < 0 {
		return nil, fmt.Errorf("bad schedule size: %d subjects, %d+%d rounds", k, warmup, rounds)
	}
	if k == 0 {
		return make([][]int, warmup+rounds), nil
	}
	switch order {
	case orderRotate:
		return rotated(k, warmup+rounds), nil
	case orderBalanced:
		if k > maxBalanced {
			return rotated(k, warmup+rounds), nil
		}
		return balanced(k, warmup, rounds), nil
	default:
		return nil, fmt.Errorf("unknown order %q (want %s or %s)", order, orderBalanced, orderRotate)
	}
}

// rotated starts round i at subject i mod k.
func rotated(k, total int) [][]int {
	out := make([][]int, total)
	for i := range out {
		out[i] = make([]int, k)
		for j := range k {
			out[i][j] = (i + j) % k
		}
	}
	return out
}

// balanced picks each round's order greedily: the permutation whose
// adjacent pairs (including the one across the round boundary) have so far
// been seen least often in measured rounds. Ties go to the lexicographically
// first, so the schedule is deterministic.
func balanced(k, warmup, rounds int) [][]int {
	perms := permutations(k)
	seen := make([][]int, k) // seen[prev][next]
	for i := range seen {
		seen[i] = make([]int, k)
	}
	out := make([][]int, 0, warmup+rounds)
	prev := -1
	for i := 0; i < warmup+rounds; i++ {
		measured := i >= warmup
		best, bestScore := perms[0], -1
		for _, p := range perms {
			score, last := 0, prev
			for _, x := range p {
				if last >= 0 && measured {
					score += seen[last][x]
				}
				last = x
			}
			if bestScore < 0 || score < bestScore {
				best, bestScore = p, score
			}
		}
		if measured {
			last := prev
			for _, x := range best {
				if last >= 0 {
					seen[last][x]++
				}
				last = x
			}
		}
		prev = best[len(best)-1]
		out = append(out, append([]int(nil), best...))
	}
	return out
}

// permutations lists the permutations of 0..k-1 in lexicographic order.
func permutations(k int) [][]int {
	var out [][]int
	p := make([]int, 0, k)
	used := make([]bool, k)
	var rec func()
	rec = func() {
		if len(p) == k {
			out = append(out, append([]int(nil), p...))
			return
		}
		for x := range k {
			if !used[x] {
				used[x] = true
				p = append(p, x)
				rec()
				p = p[:len(p)-1]
				used[x] = false
			}
		}
	}
	rec()
	return out
}
