// Package box implements isolate's boxes on mini-isolate containers: the
// configuration file, box directories and locks, isolate's directory and
// environment rules, and the init, run and cleanup actions. Each box is a
// container whose judge init stays up between runs, so a run in an
// initialised box costs little more than a fork and exec.
package box

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultConfigPath is the system configuration's usual place.
const DefaultConfigPath = "/etc/mini-isolate/isolate.conf"

// SystemConfigPath is the system configuration, which a setuid front end
// reads whatever its caller's environment says. It is DefaultConfigPath
// unless the build sets it (-ldflags -X), as isolate compiles its path in.
var SystemConfigPath = DefaultConfigPath

// ConfigEnv names the environment variable that overrides the config path
// for root (never for a setuid caller).
const ConfigEnv = "MINI_ISOLATE_CONFIG"

// Config is isolate's configuration file.
type Config struct {
	// Path is where the configuration came from ("" for the defaults),
	// and Version tells one content of that file from another (device,
	// inode, size and modification time), so that a manager started
	// with an older content is not used.
	Path, Version string
	// BoxRoot holds a directory per box; it and its parents must be
	// writable by root alone.
	BoxRoot string
	// LockRoot holds a lock file per box.
	LockRoot string
	// CgRoot is accepted for compatibility: isolate's cgroup root.
	CgRoot string
	// CgParent is the cgroup, relative to each hierarchy's root, under
	// which boxes get theirs (isolate 1.x's cg_parent).
	CgParent string
	// Box b runs as uid FirstUID+b and gid FirstGID+b, for b < NumBoxes.
	FirstUID, FirstGID, NumBoxes int
	// RestrictedInit lets only root initialise boxes.
	RestrictedInit bool
	// CPUs and Mems pin box N to a cpuset ("boxN.cpus", "boxN.mems").
	CPUs, Mems map[int]string
	// ExtendedMeta adds mini-isolate's own keys to every meta file, as
	// --extended-meta does ("extended_meta = 1").
	ExtendedMeta bool
	// SpareBoxes is how many box containers the manager keeps made in
	// advance for --init ("spare_boxes"); 0, the default, means no pool
	// and no manager started on demand.
	SpareBoxes int
	// ManagerSocket is where the manager listens ("manager_socket";
	// default <lock_root>/manager.sock), and ManagerIdle how long it
	// stays up without a request ("manager_idle", seconds).
	ManagerSocket string
	ManagerIdle   int
	// ManagerCPU is the CPU the manager's threads run on ("manager_cpu"):
	// ManagerCPUAuto (the default) for the last it may use, ManagerCPUNone
	// to let them run anywhere, or a CPU's number.
	ManagerCPU int
	// RecycleBoxes lets the manager make a cleaned-up box's container a
	// spare again instead of tearing it down ("recycle_boxes", default
	// 1): see Manager.Recycle for what is cleared.
	RecycleBoxes bool
}

// ManagerCPU values besides a CPU's number, and the first number it
// cannot be: the affinity masks used hold 1,024 CPUs.
const (
	ManagerCPUAuto = -1
	ManagerCPUNone = -2
	MaxManagerCPU  = 1024
)

// Socket is the manager's socket.
func (c *Config) Socket() string {
	if c.ManagerSocket != "" {
		return c.ManagerSocket
	}
	return c.LockRoot + "/manager.sock"
}

// Defaults used when no configuration file exists.
func defaultConfig() *Config {
	return &Config{
		BoxRoot:  "/var/lib/mini-isolate/boxes",
		CgParent: "mini-isolate",
		LockRoot: "/run/mini-isolate/locks",
		FirstUID: 60000, FirstGID: 60000, NumBoxes: 1000,
		CPUs: map[int]string{}, Mems: map[int]string{},
		ManagerIdle: 300, ManagerCPU: ManagerCPUAuto, RecycleBoxes: true,
	}
}

// LoadConfig reads the configuration: with trustEnv, from
// $MINI_ISOLATE_CONFIG when set (it must exist); else from
// SystemConfigPath, or built-in defaults when that does not exist.
func LoadConfig(trustEnv bool) (*Config, error) {
	path, explicit := os.LookupEnv(ConfigEnv)
	if !trustEnv || !explicit || path == "" {
		path, explicit = SystemConfigPath, false
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return defaultConfig(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open config file: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	c.Path = path
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil {
		c.Version = FileVersion(&st)
	}
	return c, nil
}

// FileVersion is how a configuration file's content is told apart
// (Config.Version): the isolate client computes the same string.
func FileVersion(st *unix.Stat_t) string {
	return fmt.Sprintf("%d:%d:%d:%d.%09d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
}

// ParseConfig reads isolate's syntax: "key = value" lines, blank lines and
// lines starting with # ignored, unknown keys an error.
func ParseConfig(r io.Reader) (*Config, error) {
	c := defaultConfig()
	sc := bufio.NewScanner(r)
	line := 0
	seenUID, seenGID := false, false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, val, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: syntax error, want key = value", line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		num := func() (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%s: %q is not a non-negative integer", key, val)
			}
			return n, nil
		}
		if err := c.set(key, val, num, &seenUID, &seenGID); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, c.validate(seenUID, seenGID)
}

// set sets one key; num parses its value as a non-negative integer.
func (c *Config) set(key, val string, num func() (int, error), seenUID, seenGID *bool) error {
	var err error
	switch {
	case key == "box_root":
		c.BoxRoot = val
	case key == "lock_root":
		c.LockRoot = val
	case key == "cg_root":
		c.CgRoot = val
	case key == "cg_parent":
		c.CgParent = strings.Trim(val, "/")
	case key == "first_uid":
		c.FirstUID, err = num()
		*seenUID = true
	case key == "first_gid":
		c.FirstGID, err = num()
		*seenGID = true
	case key == "num_boxes":
		c.NumBoxes, err = num()
	case key == "restricted_init":
		var n int
		n, err = num()
		c.RestrictedInit = n != 0
	case key == "extended_meta":
		var n int
		n, err = num()
		c.ExtendedMeta = n != 0
	case key == "spare_boxes":
		c.SpareBoxes, err = num()
	case key == "manager_socket":
		c.ManagerSocket = val
	case key == "manager_idle":
		c.ManagerIdle, err = num()
	case key == "manager_cpu":
		c.ManagerCPU, err = managerCPU(val)
	case key == "recycle_boxes":
		var n int
		n, err = num()
		c.RecycleBoxes = n != 0
	case key == "syscall_flags", key == "subid_user":
		// isolate 2.x keys for features mini-isolate provides its own way.
	case strings.HasPrefix(key, "box") && (strings.HasSuffix(key, ".cpus") || strings.HasSuffix(key, ".mems")):
		idText, field, _ := strings.Cut(strings.TrimPrefix(key, "box"), ".")
		id, perr := strconv.Atoi(idText)
		if perr != nil || id < 0 {
			return fmt.Errorf("unknown configuration item %s", key)
		}
		if field == "cpus" {
			c.CPUs[id] = val
		} else {
			c.Mems[id] = val
		}
	default:
		return fmt.Errorf("unknown configuration item %s", key)
	}
	return err
}

// managerCPU parses manager_cpu: auto, none, or a CPU's number.
func managerCPU(val string) (int, error) {
	switch val {
	case "auto":
		return ManagerCPUAuto, nil
	case "none":
		return ManagerCPUNone, nil
	}
	n, err := strconv.Atoi(val)
	if err != nil || n < 0 || n >= MaxManagerCPU {
		return 0, fmt.Errorf("manager_cpu: %q is not auto, none or a CPU number below %d", val, MaxManagerCPU)
	}
	return n, nil
}

func (c *Config) validate(seenUID, seenGID bool) error {
	switch {
	case c.BoxRoot == "" || !strings.HasPrefix(c.BoxRoot, "/"):
		return errors.New("box_root must be an absolute path")
	case c.LockRoot == "" || !strings.HasPrefix(c.LockRoot, "/"):
		return errors.New("lock_root must be an absolute path")
	case seenUID && c.FirstUID == 0, seenGID && c.FirstGID == 0:
		return errors.New("first_uid and first_gid must not be 0: boxes must not run as root")
	case c.CgParent == "" || strings.Contains(c.CgParent, ".."):
		return errors.New("cg_parent must be a relative cgroup path, without any \"..\" component")
	case c.NumBoxes == 0:
		return errors.New("num_boxes must be positive")
	case c.FirstUID+c.NumBoxes > 1<<31-1 || c.FirstGID+c.NumBoxes > 1<<31-1:
		return errors.New("first_uid/first_gid plus num_boxes overflows the uid range")
	case c.ManagerSocket != "" && !strings.HasPrefix(c.ManagerSocket, "/"):
		return errors.New("manager_socket must be an absolute path")
	case c.SpareBoxes > 64:
		return errors.New("spare_boxes must be at most 64")
	}
	return nil
}

// Write prints the configuration the way --check-config -vv shows it.
func (c *Config) Write(w io.Writer) {
	src := c.Path
	if src == "" {
		src = "(built-in defaults)"
	}
	fmt.Fprintf(w, "config file: %s\nbox_root: %s\nlock_root: %s\ncg_parent: %s\nfirst_uid: %d\nfirst_gid: %d\nnum_boxes: %d\nrestricted_init: %v\nextended_meta: %v\n",
		src, c.BoxRoot, c.LockRoot, c.CgParent, c.FirstUID, c.FirstGID, c.NumBoxes, c.RestrictedInit, c.ExtendedMeta)
	fmt.Fprintf(w, "spare_boxes: %d\nrecycle_boxes: %v\nmanager_socket: %s\nmanager_idle: %d\n", c.SpareBoxes, c.RecycleBoxes, c.Socket(), c.ManagerIdle)
	cpu := strconv.Itoa(c.ManagerCPU)
	switch c.ManagerCPU {
	case ManagerCPUAuto:
		cpu = "auto"
	case ManagerCPUNone:
		cpu = "none"
	}
	fmt.Fprintf(w, "manager_cpu: %s\n", cpu)
}
