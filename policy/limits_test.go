package policy

import (
	"testing"
	"time"
)

func TestParseSizeAndSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		ok   bool
	}{
		{"0", 0, true}, {"65536", 65536, true}, {"64k", 64 << 10, true}, {"64KiB", 64 << 10, true},
		{"256m", 256 << 20, true}, {"256 MiB", 256 << 20, true}, {"1g", 1 << 30, true}, {"1TiB", 1 << 40, true},
		{"1.5k", 1536, true}, {"-1", 0, false}, {"1e3", 0, false}, {"lots", 0, false}, {"2t", 0, false},
		{" 1k", 0, false}, {"", 0, false}, {"1kk", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && tc.want != 0 {
			if back, err := ParseSize(tc.want.String()); err != nil || back != tc.want {
				t.Errorf("Size(%d).String() = %q does not read back: %v", tc.want, tc.want.String(), err)
			}
		}
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"1", time.Second, true}, {"1.5", 1500 * time.Millisecond, true}, {"0.001", time.Millisecond, true},
		{"86400", 24 * time.Hour, true}, {"86400.5", 0, false}, {"-0.5", 0, false}, {"NaN", 0, false},
		{"inf", 0, false}, {"1s", 0, false}, {"", 0, false},
	} {
		got, err := ParseSeconds(tc.in)
		if (err == nil) != tc.ok || time.Duration(got) != tc.want {
			t.Errorf("ParseSeconds(%q) = %v, %v; want %v, ok %v", tc.in, time.Duration(got), err, tc.want, tc.ok)
		}
	}
}
