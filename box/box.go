package box

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"slices"
	"strconv"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	miniisolate "github.com/mini-isolate/mini-isolate"
	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
	"github.com/mini-isolate/mini-isolate/runtime/judgeinit"
	"github.com/mini-isolate/mini-isolate/runtime/meta"
	"github.com/mini-isolate/mini-isolate/runtime/supervise"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// Manager runs isolate's actions on boxes.
type Manager struct {
	Config  *Config
	Runtime *runtime.Runtime
	// CallerUID and CallerGID own box/ between runs: the real caller, or
	// --as-uid/--as-gid.
	CallerUID, CallerGID int
	// Verbose is isolate's -v count; messages go to Log.
	Verbose int
	Log     io.Writer
	// Pool, when set, gives --init a spare container instead of a new
	// one; Reaper, when set, tears retired boxes down in the background.
	Pool   Pool
	Reaper Reaper
	// RunCgroups, when set, makes runs' cgroups ahead of time.
	RunCgroups *supervise.RunCgroups
	// InitConns, when set, keeps connections to box inits between runs.
	InitConns *supervise.InitConns
	// Cache, when set, keeps what warm runs of a box compute again.
	Cache *RunCache
}

// InitOptions are the options --init honours.
type InitOptions struct {
	Cg   bool
	Wait bool
	// Quota limits the box user's blocks (KiB) and inodes on the box's
	// filesystem; zero leaves it alone.
	QuotaBlocks, QuotaInodes uint64
}

// RunOptions are isolate's options for --run.
type RunOptions struct {
	Args []string
	Cg   bool
	Wait bool

	// Limits are the run's; Memory needs Cg. A zero Stack is unlimited,
	// as in isolate.
	Limits policy.Limits

	Stdin, Stdout, Stderr string
	StderrToStdout        bool
	Chdir                 string
	FullEnv               bool
	Env                   []policy.EnvRule
	Dirs                  []policy.DirRule
	NoDefaultDirs         bool
	ShareNet              bool
	InheritFDs            bool
	SpecialFiles          bool
	// Stdio is the caller's stdin, stdout and stderr, given to the program.
	Stdio [3]*os.File
	// PrivateStdio says Stdio and Extra were opened for this run alone
	// (the manager's /dev/null, say): their state is not saved and put
	// back, as a caller's own stdout's must be.
	PrivateStdio bool
	// Extra are the caller's fds from 3 up, for --inherit-fds.
	Extra []*os.File
	// CallerEnv is the caller's environment, for FullEnv and Env rules
	// that inherit a variable.
	CallerEnv []string
	// Started, when set, is called once the sandbox holds Stdio and
	// Extra: a caller that wires runs to each other with pipes closes
	// its own ends then, so that each side sees the other's end of file.
	Started func()
}

// Box is one box's names and paths.
type Box struct {
	ID       int
	Dir      string // <box_root>/<id>
	UID, GID int
	// Container is the mini-isolate container holding the box.
	Container string
}

// Box returns box id's paths, or an error if id is out of range.
func (m *Manager) Box(id int) (*Box, error) {
	if id < 0 || id >= m.Config.NumBoxes {
		return nil, fmt.Errorf("sandbox ID out of range (allowed: 0-%d)", m.Config.NumBoxes-1)
	}
	return &Box{
		ID: id, Dir: filepath.Join(m.Config.BoxRoot, strconv.Itoa(id)),
		UID: m.Config.FirstUID + id, GID: m.Config.FirstGID + id,
		Container: defaultContainer(id),
	}, nil
}

// defaultContainer names box id's container when no pool or reaper is in
// use.
func defaultContainer(id int) string { return "box-" + strconv.Itoa(id) }

func (b *Box) sandboxDir() string { return filepath.Join(b.Dir, "box") }
func (b *Box) hostname() string {
	if b.ID < 0 {
		return "box"
	}
	return "box-" + strconv.Itoa(b.ID)
}
func (b *Box) rootfs() string    { return filepath.Join(b.Dir, "root") }
func (b *Box) private() string   { return filepath.Join(b.Dir, ".mini-isolate") }
func (b *Box) socket() string    { return filepath.Join(b.private(), "init.sock") }
func (b *Box) stateFile() string { return filepath.Join(b.private(), "container.json") }

func (m *Manager) verbose(level int, format string, args ...any) {
	if m.Verbose >= level && m.Log != nil {
		fmt.Fprintf(m.Log, format+"\n", args...)
	}
}

// Init creates (or resets) box id and returns its directory.
func (m *Manager) Init(ctx context.Context, id int, o InitOptions) (string, error) {
	if m.Config.RestrictedInit && m.CallerUID != 0 {
		return "", errors.New("new sandboxes can be created only by root (restricted_init is set)")
	}
	b, err := m.Box(id)
	if err != nil {
		return "", err
	}
	lock, err := lockBox(m.Config.LockRoot, id, true, o.Wait)
	if err != nil {
		return "", err
	}
	defer lock.close()
	rec, err := lock.read()
	if err != nil {
		rec = nil // a record of another format is reset, as before
	}
	if rec != nil && rec.Initialized && rec.Owner != m.CallerUID && m.CallerUID != 0 {
		// As isolate: another user may not reset a box in use.
		return "", fmt.Errorf("this box belongs to a different user (uid %d)", rec.Owner)
	}
	if rec != nil && rec.Container != "" {
		b.Container = rec.Container
	}
	if err := m.retire(ctx, b); err != nil {
		return "", err
	}
	if err := lock.write(nil); err != nil {
		return "", err
	}
	// The retired container's name is not the new one's: a manager's
	// sweep may still find a directory of the old one by that name.
	b.Container = defaultContainer(id)
	if err := os.MkdirAll(m.Config.BoxRoot, 0o755); err != nil {
		return "", fmt.Errorf("box root: %w", err)
	}
	if err := checkRootOnly(m.Config.BoxRoot); err != nil {
		return "", fmt.Errorf("box root %w", err)
	}
	// The container is recorded before it is adopted or made, and the
	// box only once it is ready: a process killed in between leaves a
	// record by which the next --init or --cleanup tears it down.
	claim := func(container string) error {
		return lock.write(&record{Owner: m.CallerUID, Cg: o.Cg, Container: container})
	}
	if err := m.initContainer(ctx, b, claim); err != nil {
		m.undoInit(ctx, b, lock)
		return "", err
	}
	if o.QuotaBlocks > 0 || o.QuotaInodes > 0 {
		if err := setQuota(b.Dir, b.UID, o.QuotaBlocks, o.QuotaInodes); err != nil {
			m.undoInit(ctx, b, lock)
			return "", err
		}
	}
	if err := lock.write(&record{Owner: m.CallerUID, Cg: o.Cg, Initialized: true, Container: b.Container}); err != nil {
		m.undoInit(ctx, b, lock)
		return "", err
	}
	return b.Dir, nil
}

// undoInit removes what a failed --init made: no half-made box stays.
// The record naming the container goes only once the container has.
func (m *Manager) undoInit(ctx context.Context, b *Box, lock *boxLock) {
	if err := m.Reap(ctx, b.Container, b.Dir); err != nil {
		m.verbose(1, "%v", err)
		return
	}
	if err := lock.write(nil); err != nil {
		m.verbose(1, "%v", err)
	}
}

// initContainer gives box b its directories and a container: a spare
// from the pool when one is ready and the box's CPUs are not pinned,
// else a new one. claim records the container's name first.
func (m *Manager) initContainer(ctx context.Context, b *Box, claim func(container string) error) error {
	if m.Pool != nil && m.Config.CPUs[b.ID] == "" && m.Config.Mems[b.ID] == "" {
		if s := m.Pool.Take(); s != nil {
			if err := claim(s.Container); err != nil {
				m.DiscardSpare(ctx, s)
				return fmt.Errorf("init box: %w", err)
			}
			err := m.adopt(ctx, b, s)
			if err == nil {
				m.verbose(2, "box %d: adopted spare %s", b.ID, s.Container)
				return nil
			}
			// A spare can die while it waits (the OOM killer, an
			// administrator): the box gets a new container instead.
			if rerr := m.Reap(ctx, s.Container, spareDir(s, b)); rerr != nil {
				return fmt.Errorf("%w (and %v)", err, rerr)
			}
			logrus.Warnf("box %d: spare %s: %v; making a container", b.ID, s.Container, err)
		} else {
			logrus.Debugf("box %d: no spare ready: making a container", b.ID)
		}
	}
	if m.Pool != nil || m.Reaper != nil {
		b.Container = newContainerName()
	}
	if err := claim(b.Container); err != nil {
		return fmt.Errorf("init box: %w", err)
	}
	if err := m.makeDirs(b, m.CallerUID, m.CallerGID); err != nil {
		return err
	}
	if _, err := m.container(ctx, b, nil, false); err != nil {
		return err
	}
	return nil
}

// spareDir is where spare s's directory is after an adoption into box b
// failed: still in the pool's directory, or already moved to the box's.
func spareDir(s *Spare, b *Box) string {
	if _, err := os.Lstat(s.Dir); err == nil {
		return s.Dir
	}
	return b.Dir
}

// makeDirs makes a box's directories; its box directory is the owner's.
func (m *Manager) makeDirs(b *Box, ownerUID, ownerGID int) error {
	for _, d := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{b.Dir, 0o755, 0, 0},
		{b.sandboxDir(), 0o700, ownerUID, ownerGID},
		{b.rootfs(), 0o755, 0, 0},
		{filepath.Join(b.Dir, "tmp"), 0o755, 0, 0},
		{b.private(), 0o700, 0, 0},
	} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return fmt.Errorf("init box: %w", err)
		}
		if err := os.Chown(d.path, d.uid, d.gid); err != nil {
			return fmt.Errorf("init box: %w", err)
		}
	}
	return nil
}

// Cleanup deletes box id; a box that does not exist is not an error.
func (m *Manager) Cleanup(ctx context.Context, id int, cg, wait bool) error {
	b, err := m.Box(id)
	if err != nil {
		return err
	}
	lock, err := lockBox(m.Config.LockRoot, id, false, wait)
	if err != nil {
		return err
	}
	if lock == nil {
		return nil
	}
	defer lock.close()
	rec, err := lock.read()
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	if err := m.checkRecord(rec, cg); err != nil {
		return err
	}
	if rec.Container != "" {
		b.Container = rec.Container
	}
	if err := m.retire(ctx, b); err != nil {
		return err
	}
	return lock.write(nil)
}

func (m *Manager) checkRecord(rec *record, cg bool) error {
	// The caller's identity, not this process's: a manager serving a
	// setuid front end is root, its caller not. As in isolate, a box not
	// (or not yet) initialised is nobody's.
	if rec.Initialized && rec.Owner != m.CallerUID && m.CallerUID != 0 {
		return fmt.Errorf("this box belongs to a different user (uid %d)", rec.Owner)
	}
	if rec.Cg != cg {
		return errCgMode
	}
	return nil
}

var errCgMode = errors.New("this box was initialized with an incompatible control group mode")

// Run runs one program in box id and returns its report.
func (m *Manager) Run(ctx context.Context, id int, o *RunOptions) (*meta.Result, error) {
	b, err := m.Box(id)
	if err != nil {
		return nil, err
	}
	if o.Limits.Memory > 0 && !o.Cg {
		return nil, errors.New("--cg-mem requires --cg")
	}
	lock, rec, err := m.lockForRun(id, o)
	if err != nil {
		return nil, err
	}
	defer lock.close()
	if rec.Container != "" {
		b.Container = rec.Container
	}
	logrus.Debug("box: locked")
	// The box belongs to its user while the program runs, and to the
	// caller again afterwards, whatever happened.
	if err := chownTree(b.sandboxDir(), b.UID, b.GID, o.SpecialFiles, b.UID); err != nil {
		return nil, err
	}
	if err := m.clearTmp(b); err != nil {
		return nil, err
	}
	logrus.Debug("box: chowned")
	res, err := m.run(ctx, b, o)
	if cerr := chownTree(b.sandboxDir(), m.CallerUID, m.CallerGID, o.SpecialFiles, b.UID); cerr != nil {
		if err != nil {
			m.verbose(1, "%v", cerr)
			return nil, err
		}
		// The program's verdict cannot stand when its box could not be
		// handed back: the next --run, --init or --cleanup repairs it.
		return failedAfter(res, cerr), nil
	}
	return res, err
}

// clearTmp empties the box's private directories (the tmp rules', /tmp
// among them): nothing a run leaves there reaches the next. It gives them
// back to the box's user with mode 0700, as they were made.
func (m *Manager) clearTmp(b *Box) error {
	entries, err := os.ReadDir(filepath.Join(b.Dir, "tmp"))
	if err != nil {
		return fmt.Errorf("box tmp: %w", err)
	}
	for _, e := range entries {
		d := filepath.Join(b.Dir, "tmp", e.Name())
		if !e.IsDir() {
			// Only tmp rules' directories are made here.
			if err := unix.Unlinkat(unix.AT_FDCWD, d, 0); err != nil {
				return fmt.Errorf("box tmp: %w", err)
			}
			continue
		}
		if err := hostfile.Empty(d); err != nil {
			return fmt.Errorf("box tmp: %w", err)
		}
		if err := unix.Fchownat(unix.AT_FDCWD, d, b.UID, b.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("box tmp: %w", err)
		}
		if err := unix.Fchmodat(unix.AT_FDCWD, d, 0o700, 0); err != nil {
			return fmt.Errorf("box tmp: %w", err)
		}
	}
	return nil
}

// failedAfter turns a run's report into XX for a failure on the host
// after the program ended.
func failedAfter(res *meta.Result, err error) *meta.Result {
	res.Status, res.Message, res.Cause = meta.InternalError, "after the run: "+err.Error(), err
	res.Limit, res.Killed = "", false
	return res
}

// run runs the program in the box's container.
func (m *Manager) run(ctx context.Context, b *Box, o *RunOptions) (*meta.Result, error) {
	target, err := m.container(ctx, b, o, o.ShareNet)
	if err != nil {
		return nil, err
	}
	logrus.Debug("box: container ready")
	limits := o.Limits
	if limits.Stack == 0 {
		limits.Stack = policy.Unlimited
	}
	cfg := supervise.Config{
		Target: *target,
		Limits: limits,
		Run: judgeinit.Run{
			Args:           o.Args,
			Env:            policy.Environment(o.FullEnv, o.Env, o.CallerEnv),
			Cwd:            o.Chdir,
			Stdin:          o.Stdin,
			Stdout:         o.Stdout,
			Stderr:         o.Stderr,
			StderrToStdout: o.StderrToStdout,
			Files:          o.Stdio,
			ExtraFiles:     o.Extra,
			Rlimits:        rlimits(limits),
			NoPathSearch:   true,
			User:           &judgeinit.User{UID: uint32(b.UID), GID: uint32(b.GID)},
			CleanIPC:       true,
			Persist:        m.InitConns.Persist(),
		},
		CPUs:         m.cpus(b),
		Cgroups:      m.RunCgroups,
		Inits:        m.InitConns,
		PrivateFiles: o.PrivateStdio,
	}
	sup, conn, err := m.startRun(b, target, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		sup.Close()
		m.InitConns.Put(target, conn, sup.Ended())
	}()
	if o.Started != nil {
		o.Started()
	}
	logrus.Debug("box: run started")
	res := sup.Wait(ctx)
	logrus.Debug("box: run over")
	return res, nil
}

// startRun starts cfg's run through a connection to the box's init: a
// kept one, or, when that turns out closed before the request got
// through (the init hung up on it), a new one.
func (m *Manager) startRun(b *Box, target *supervise.Target, cfg supervise.Config) (*supervise.Supervisor, *judgeinit.Conn, error) {
	conn, reused, err := m.InitConns.Get(target, b.socket())
	if err != nil {
		return nil, nil, err
	}
	sup, err := supervise.Start(conn, cfg)
	if err != nil && reused && judgeinit.NotSent(err) {
		conn.Close()
		if conn, err = judgeinit.Dial(b.socket()); err != nil {
			return nil, nil, err
		}
		sup, err = supervise.Start(conn, cfg)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return sup, conn, nil
}

// lockForRun locks an initialised box that the caller may use.
func (m *Manager) lockForRun(id int, o *RunOptions) (*boxLock, *record, error) {
	lock, err := lockBox(m.Config.LockRoot, id, false, o.Wait)
	if err != nil {
		return nil, nil, err
	}
	notFound := errors.New("box not found, did you run `isolate --init'?")
	if lock == nil {
		return nil, nil, notFound
	}
	rec, err := lock.read()
	switch {
	case err != nil:
	case rec == nil:
		err = notFound
	case !rec.Initialized:
		err = errors.New("this box was not initialized properly")
	default:
		err = m.checkRecord(rec, o.Cg)
	}
	if err != nil {
		lock.close()
		return nil, nil, err
	}
	return lock, rec, nil
}

// rlimits are the run's, for the judge init.
func rlimits(l policy.Limits) []judgeinit.Rlimit {
	var list []judgeinit.Rlimit
	for _, rl := range l.Rlimits() {
		list = append(list, judgeinit.Rlimit{Resource: rl.Resource, Soft: rl.Soft, Hard: rl.Hard})
	}
	return list
}

func (m *Manager) cpus(b *Box) int {
	if set, ok := m.Config.CPUs[b.ID]; ok {
		if n, err := policy.CountCPUs(set); err == nil && n > 0 {
			return n
		}
	}
	return goruntime.NumCPU()
}

// containerState is what the box remembers of its container, so that a
// warm run needs no more than a look at /proc.
type containerState struct {
	Key    string            `json:"key"`
	Target *supervise.Target `json:"target"`
	// Spareable says the container has the default directory rules, no
	// shared network and no pinned CPUs or memory nodes, as --init makes
	// it for a box not pinned: only such a container can be recycled as a
	// spare. Uses counts the boxes that had it. (Records that say
	// "default" are older, and took a pinned box's container for one.)
	Spareable bool `json:"spareable,omitempty"`
	Uses      int  `json:"uses,omitempty"`
}

// container returns the box's running container for the directory rules
// and network of o (the defaults when o is nil): the one already running
// when it was made for the same configuration, otherwise a new one.
func (m *Manager) container(ctx context.Context, b *Box, o *RunOptions, shareNet bool) (*supervise.Target, error) {
	rules := policy.DefaultDirRules()
	if o != nil {
		if o.NoDefaultDirs {
			rules = nil
		}
		rules = policy.ApplyDirRules(rules, o.Dirs)
	}
	rules = withProc(rules)
	key, err := m.key(b, rules, shareNet)
	if err != nil {
		return nil, err
	}
	if cur, err := m.state(b); err == nil {
		if cur.Key == key && cur.Target != nil && m.InitConns.Alive(cur.Target) {
			m.verbose(2, "box %d: reusing its container", b.ID)
			return cur.Target, nil
		}
	}
	mnts, err := policy.DirMounts(rules, b.Dir, b.UID, b.GID)
	if err != nil {
		return nil, err
	}
	spec, err := m.spec(b, mnts, shareNet)
	if err != nil {
		return nil, err
	}
	m.verbose(1, "box %d: starting a container for this configuration", b.ID)
	target, err := m.startContainer(ctx, b, spec)
	if err != nil {
		return nil, err
	}
	// A pinned box's container keeps its CPUs and memory nodes: it is
	// never another box's spare.
	spareable := !shareNet && reflect.DeepEqual(rules, defaultRules()) && m.Config.CPUs[b.ID] == "" && m.Config.Mems[b.ID] == ""
	if err := writeState(b, containerState{Key: key, Target: target, Spareable: spareable}); err != nil {
		return nil, err
	}
	return target, nil
}

// withProc adds /proc to the rules: the judge init starts through
// /proc/self/fd, so a box always has it, even when the rules drop it.
func withProc(rules []policy.DirRule) []policy.DirRule {
	if !slices.ContainsFunc(rules, func(r policy.DirRule) bool { return r.In == "proc" }) {
		rules = append(rules, policy.DirRule{In: "proc", Out: "proc", Flags: policy.DirFS})
	}
	return rules
}

// readState reads what the box remembers of its container.
func readState(b *Box) (containerState, error) {
	var st containerState
	raw, err := readStateFile(b)
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	return st, err
}

// maxStateFile bounds what readState reads: the file is root's, but a
// truncated one fails to decode rather than costing memory.
const maxStateFile = 1 << 20

func writeState(b *Box, st containerState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return overwrite(b.stateFile(), data)
}

// overwrite replaces a small file's content in place, with padWrite. The
// file is root's, in the box's private directory.
func overwrite(path string, data []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := padWrite(fd, data); err != nil {
		return &os.PathError{Op: "overwrite", Path: path, Err: err}
	}
	return nil
}

// padWrite replaces the content of a small JSON file in place: data
// padded with spaces, which JSON ignores, to the file's length, in one
// write. The kernel checks for a fatal signal only between the pages of
// a write, so a process killed at any point leaves the old content or
// the new of these files, which are far below a page. The file is never
// cut: on ext4, a file cut to zero and rewritten is written back when it
// is closed (auto_da_alloc), and a cut that frees a block waits for the
// disk's discard. Each --init and --cleanup did both, on the lock file.
func padWrite(fd int, data []byte) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if pad := int(st.Size) - len(data); pad > 0 {
		data = append(data[:len(data):len(data)], bytes.Repeat([]byte{' '}, pad)...)
	}
	if len(data) == 0 {
		return nil
	}
	n, err := unix.Pwrite(fd, data, 0)
	if err == nil && n < len(data) {
		err = io.ErrShortWrite
	}
	return err
}

// containerKey names everything a box container's config is made from, so
// that a warm run can reuse the container without building the config.
func (m *Manager) containerKey(b *Box, rules []policy.DirRule, shareNet bool) (string, error) {
	input, err := json.Marshal(struct {
		Version  string
		Binary   string
		Rules    []policy.DirRule
		ShareNet bool
		Box      *Box
		CPUs     string
		Mems     string
	}{miniisolate.Version(), binaryID(), rules, shareNet, b, m.Config.CPUs[b.ID], m.Config.Mems[b.ID]})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(input)
	return hex.EncodeToString(sum[:]), nil
}

// startContainer replaces the box's container with a new one for spec,
// whose init listens on the box's socket.
func (m *Manager) startContainer(ctx context.Context, b *Box, spec *specs.Spec) (*supervise.Target, error) {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := m.Runtime.Delete(ctx, b.Container, true); err != nil {
		return nil, fmt.Errorf("replace box container: %w", err)
	}
	// Mount points of an earlier configuration must not show up as empty
	// directories in this one.
	if err := removeTree(b.rootfs()); err != nil {
		return nil, err
	}
	if err := os.Mkdir(b.rootfs(), 0o755); err != nil {
		return nil, err
	}
	bundle := filepath.Join(b.private(), "bundle")
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, specconv.ConfigName), data, 0o600); err != nil {
		return nil, err
	}
	ln, err := judgeinit.Listen(b.socket())
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	err = m.Runtime.Create(ctx, b.Container, runtime.CreateOpts{
		Bundle:      bundle,
		Stdio:       runtime.Stdio{In: devnull, Out: devnull, Err: devnull},
		BoxListener: ln,
	})
	if err != nil {
		return nil, fmt.Errorf("box container: %w", err)
	}
	if err := m.Runtime.Start(ctx, b.Container); err != nil {
		_ = m.Runtime.Delete(ctx, b.Container, true)
		return nil, fmt.Errorf("box container: %w", err)
	}
	return m.Runtime.Target(b.Container)
}

// spec is the OCI config of a box's container. Its process is replaced
// by the judge init, and each run names its program.
func (m *Manager) spec(b *Box, mnts []specs.Mount, shareNet bool) (*specs.Spec, error) {
	return policy.Spec(policy.SpecOptions{
		Root:     b.rootfs(),
		Hostname: b.hostname(),
		Args:     []string{"/box"},
		Env:      []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Cwd:      "/box",
		Mounts:   mnts,
		// isolate's default syscall flags block file locks too.
		Seccomp:          policy.SeccompOptions{BlockLocks: true},
		ShareNet:         shareNet,
		CPUs:             m.Config.CPUs[b.ID],
		Mems:             m.Config.Mems[b.ID],
		CgroupsPath:      "/" + m.Config.CgParent + "/" + b.Container,
		InitCapabilities: judgeinit.InitCapabilities,
	})
}

// CgroupRoot is the cgroup under which boxes' cgroups live, in the memory
// hierarchy (v1) or the unified one.
func (c *Config) CgroupRoot() string {
	if cgroups.IsCgroup2UnifiedMode() {
		return filepath.Join("/sys/fs/cgroup", c.CgParent)
	}
	return filepath.Join("/sys/fs/cgroup/memory", c.CgParent)
}

// ManagerBinary is the manager's binary, installed beside mini-isolate:
// both make box containers alike.
const ManagerBinary = "mini-isolate-manager"

// BuildStamp names one build of both binaries (make sets it with -X): the
// command line runs the manager beside it only when their stamps match.
var BuildStamp = ""

// binaryID tells builds of mini-isolate apart, so that a box container
// started by another build, whose init may speak another protocol, is
// replaced rather than reused. A build without a stamp is told apart by
// its file.
func binaryID() string {
	if BuildStamp != "" {
		return "build " + BuildStamp
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d.%d", st.Dev, st.Ino, st.Mtim.Sec, st.Mtim.Nsec)
}
