package box

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/runtime/hostfile"
)

// RunCache keeps what every warm run of a box would otherwise compute
// again, for a long-lived caller (the manager): the container key of the
// box's last configuration, and its state file decoded. An entry serves
// only while what it came from is unchanged: the key's inputs, compared
// field by field, and the state file's bytes, compared whole (the file
// is overwritten in place, so its identity says nothing). Encoding the
// key and decoding the state took about 20 µs of a warm run.
type RunCache struct {
	mu     sync.Mutex
	keys   map[int]cachedKey      // by box id
	states map[string]cachedState // by state file
}

// NewRunCache returns an empty cache.
func NewRunCache() *RunCache {
	return &RunCache{keys: map[int]cachedKey{}, states: map[string]cachedState{}}
}

// keyInput is what a box's container key depends on, beyond the binary.
type keyInput struct {
	rules      []policy.DirRule
	shareNet   bool
	box        Box
	cpus, mems string
}

func (k *keyInput) equal(o *keyInput) bool {
	return slices.Equal(k.rules, o.rules) && k.shareNet == o.shareNet && k.box == o.box && k.cpus == o.cpus && k.mems == o.mems
}

type cachedKey struct {
	in  keyInput
	key string
}

type cachedState struct {
	raw []byte
	st  containerState
}

// key is m.containerKey, through m.Cache when there is one.
func (m *Manager) key(b *Box, rules []policy.DirRule, shareNet bool) (string, error) {
	c := m.Cache
	if c == nil {
		return m.containerKey(b, rules, shareNet)
	}
	in := keyInput{rules: rules, shareNet: shareNet, box: *b, cpus: m.Config.CPUs[b.ID], mems: m.Config.Mems[b.ID]}
	c.mu.Lock()
	hit, ok := c.keys[b.ID]
	c.mu.Unlock()
	if ok && hit.in.equal(&in) {
		return hit.key, nil
	}
	key, err := m.containerKey(b, rules, shareNet)
	if err != nil {
		return "", err
	}
	in.rules = slices.Clone(rules)
	c.mu.Lock()
	c.keys[b.ID] = cachedKey{in: in, key: key}
	c.mu.Unlock()
	return key, nil
}

// state is readState, through m.Cache when there is one: the file is
// read each time, and decoded only when its bytes changed.
func (m *Manager) state(b *Box) (containerState, error) {
	c := m.Cache
	if c == nil {
		return readState(b)
	}
	raw, err := readStateFile(b)
	if err != nil {
		return containerState{}, err
	}
	path := b.stateFile()
	c.mu.Lock()
	hit, ok := c.states[path]
	c.mu.Unlock()
	if ok && bytes.Equal(hit.raw, raw) {
		return hit.st.clone(), nil
	}
	var st containerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, err
	}
	c.mu.Lock()
	c.states[path] = cachedState{raw: raw, st: st.clone()}
	c.mu.Unlock()
	return st, nil
}

// clone copies st deeply enough that the copy can be changed freely.
func (st containerState) clone() containerState {
	if st.Target != nil {
		t := *st.Target
		t.CgroupPaths = maps.Clone(t.CgroupPaths)
		st.Target = &t
	}
	return st
}

// readStateFile reads the box's state file whole.
func readStateFile(b *Box) ([]byte, error) {
	f, err := hostfile.Open(b.stateFile(), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxStateFile))
}
