package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/docker/go-units"
	"golang.org/x/sys/unix"
)

// Bounds that catch absurd values; they match isolate's.
const (
	MaxSeconds   = 86400
	MaxSize      = 1 << 40
	MaxOpenFiles = 1 << 20
	MaxProcesses = 1 << 22
)

// Unlimited, as a Stack, lifts the stack limit (isolate's default).
const Unlimited Size = -1

// Limits are the limits of one judged run, wherever they come from: a
// profile, judge annotations and OCI resources, or isolate's options.
// Zero means no limit, except for Core (zero: no core files) and Stack
// (zero: the runtime's default; Unlimited: none).
type Limits struct {
	// Time is CPU time over every process of the run; ExtraTime the grace
	// after it before the kill (using more than Time is a timeout either
	// way); WallTime the time from exec until the last process is gone.
	Time      Duration `json:"time,omitempty"`
	ExtraTime Duration `json:"extraTime,omitempty"`
	WallTime  Duration `json:"wallTime,omitempty"`
	// Memory is the run's cgroup memory (isolate --cg-mem).
	Memory Size `json:"memory,omitempty"`
	// AddressSpace, Stack, FileSize and Core are per-process rlimits.
	AddressSpace Size `json:"addressSpace,omitempty"`
	Stack        Size `json:"stack,omitempty"`
	FileSize     Size `json:"fileSize,omitempty"`
	Core         Size `json:"core,omitempty"`
	// Output bounds what the program writes to stdout and stderr.
	Output Size `json:"output,omitempty"`
	// OpenFiles is RLIMIT_NOFILE; Processes the most processes and
	// threads at once (the run's pids limit).
	OpenFiles int64 `json:"openFiles,omitempty"`
	Processes int64 `json:"processes,omitempty"`
}

// FieldError is a value out of its bounds or syntax; Field names it as a
// profile spells it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Validate checks that every limit is within its bounds; path prefixes the
// field names in the error.
func (l *Limits) Validate(path string) error {
	field := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"time", l.Time}, {"extraTime", l.ExtraTime}, {"wallTime", l.WallTime}} {
		if d.v < 0 || d.v.Seconds() > MaxSeconds {
			return &FieldError{field(d.name), fmt.Sprintf("%s: want seconds between 0 and %d", d.v, MaxSeconds)}
		}
	}
	for _, s := range []struct {
		name string
		v    Size
	}{{"memory", l.Memory}, {"addressSpace", l.AddressSpace}, {"stack", l.Stack}, {"fileSize", l.FileSize}, {"core", l.Core}, {"output", l.Output}} {
		if (s.v < 0 && !(s.name == "stack" && s.v == Unlimited)) || s.v > MaxSize {
			return &FieldError{field(s.name), fmt.Sprintf("%d: want a size between 0 and 1TiB", s.v)}
		}
	}
	for _, c := range []struct {
		name     string
		v, limit int64
	}{{"openFiles", l.OpenFiles, MaxOpenFiles}, {"processes", l.Processes, MaxProcesses}} {
		if c.v < 0 || c.v > c.limit {
			return &FieldError{field(c.name), fmt.Sprintf("%d: want a count between 0 and %d", c.v, c.limit)}
		}
	}
	return nil
}

// Rlimit is one resource limit of the program.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// Rlimits are the program's rlimits: those the limits give, plus no core
// files beyond Core and no locked memory, as isolate sets them.
func (l *Limits) Rlimits() []Rlimit {
	list := []Rlimit{
		{Resource: unix.RLIMIT_CORE, Soft: uint64(l.Core), Hard: uint64(l.Core)},
		{Resource: unix.RLIMIT_MEMLOCK},
	}
	add := func(res int, v int64) {
		if v > 0 {
			list = append(list, Rlimit{Resource: res, Soft: uint64(v), Hard: uint64(v)})
		}
	}
	add(unix.RLIMIT_AS, int64(l.AddressSpace))
	if l.Stack == Unlimited {
		list = append(list, Rlimit{Resource: unix.RLIMIT_STACK, Soft: unix.RLIM_INFINITY, Hard: unix.RLIM_INFINITY})
	}
	add(unix.RLIMIT_STACK, int64(l.Stack))
	add(unix.RLIMIT_FSIZE, int64(l.FileSize))
	add(unix.RLIMIT_NOFILE, l.OpenFiles)
	return list
}

// Duration is a time limit, written in profiles and state files as a
// number of seconds.
type Duration time.Duration

// ParseSeconds reads a number of seconds in [0, MaxSeconds], as a profile
// and the --time flags take them.
func ParseSeconds(s string) (Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > MaxSeconds {
		return 0, fmt.Errorf("%q: want seconds such as 1.5, between 0 and %d", s, MaxSeconds)
	}
	// Rounded: 1.51713 * 1e9 is 1517129999.9999998 in floating point.
	return Duration(math.Round(f * float64(time.Second))), nil
}

// UnmarshalJSON takes a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n json.Number
	// json.Number also takes a quoted number; a profile must not.
	if bytes.HasPrefix(b, []byte(`"`)) || json.Unmarshal(b, &n) != nil {
		return fmt.Errorf("want seconds such as 1.5, got %s", b)
	}
	v, err := ParseSeconds(n.String())
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the number of seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(d.String()), nil
}

// String is the number of seconds, as a profile writes it.
func (d Duration) String() string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Seconds is the duration in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// Size is a number of bytes, written in a profile as an integer or a
// string with a binary unit: 64k, 256MiB, 1g.
type Size int64

// sizeRE is the syntax profiles give sizes; go-units alone would also take
// forms such as 1e3.
var sizeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]+(\.[0-9]+)? ?([kKmMgGtT]([iI]?[bB])?|[bB])?$`)
})

// ParseSize reads a size in [0, MaxSize].
func ParseSize(s string) (Size, error) {
	n, err := units.RAMInBytes(s)
	if !sizeRE().MatchString(s) || err != nil || n < 0 || n > MaxSize {
		return 0, fmt.Errorf("%q: want a size such as 65536, 64k or 256MiB, at most 1TiB", s)
	}
	return Size(n), nil
}

// UnmarshalJSON takes a number of bytes or a string with a unit.
func (s *Size) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		var n json.Number
		if json.Unmarshal(b, &n) != nil {
			return fmt.Errorf("want a size such as 65536, 64k or 256MiB, got %s", b)
		}
		text = n.String()
	}
	if text == "-1" || text == "unlimited" {
		*s = Unlimited
		return nil
	}
	v, err := ParseSize(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalJSON writes the size with the largest binary unit that divides
// it, so that it reads back the same.
func (s Size) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.String())
}

// String is the size with the largest binary unit that divides it exactly.
func (s Size) String() string {
	if s == Unlimited {
		return "unlimited"
	}
	for _, u := range []struct {
		n    int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
