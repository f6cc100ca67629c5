package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// CountCPUs is the number of CPUs in a cpuset list such as "0-3,6".
func CountCPUs(set string) (int, error) {
	n := 0
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("bad cpu list %q", set)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("bad cpu range %q", part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}
