package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// ociJudge describes a judged OCI container: limits as OCI fields and
// mini-isolate annotations (keys without the io.github.mini-isolate. prefix).
type ociJudge struct {
	args        []string
	annotations map[string]string
	memory      int64 // bytes, 0: none
	pids        int64 // 0: none
}

// oci runs a judged container the way a judge that writes bundles does:
// the spec's default namespaces and mounts, a read-only root with the
// programs, a writable /box and /tmp, an unprivileged user without
// capabilities, no_new_privs, the judge seccomp policy, and `run --meta`.
func (c *ctx) oci(j ociJudge) *res {
	s := c.s
	s.nextOCI++
	id := fmt.Sprintf("atk-%s-%d", c.a.name, s.nextOCI)
	bundle := filepath.Join(c.dir, "bundle-"+id)
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		c.fatalf("%v", err)
	}
	if out, err := exec.Command("cp", "-a", s.rootfs, rootfs).CombinedOutput(); err != nil {
		c.fatalf("copy the rootfs: %v: %s", err, out)
	}
	cfg := specconv.Example()
	cfg.Hostname = "atk-oci"
	cfg.Process.Terminal = false
	cfg.Process.Args = j.args
	cfg.Process.Cwd = "/box"
	cfg.Process.Env = []string{"PATH=/bin"}
	cfg.Process.User = specs.User{UID: ociUID, GID: ociUID}
	cfg.Process.NoNewPrivileges = true
	cfg.Process.Capabilities = &specs.LinuxCapabilities{}
	seccomp, err := policy.JudgeSeccomp(policy.SeccompOptions{BlockLocks: true})
	if err != nil {
		c.fatalf("seccomp: %v", err)
	}
	cfg.Linux.Seccomp = seccomp
	cfg.Linux.CgroupsPath = "/" + s.cgParent + "/" + id
	res := &specs.LinuxResources{Devices: cfg.Linux.Resources.Devices}
	if j.memory > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &j.memory}
	}
	if j.pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &j.pids}
	}
	cfg.Linux.Resources = res
	for _, d := range []string{"/box", "/tmp"} {
		cfg.Mounts = append(cfg.Mounts, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=1777", "size=16m"}})
	}
	cfg.Annotations = map[string]string{}
	for k, v := range j.annotations {
		cfg.Annotations["io.github.mini-isolate."+k] = v
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		c.fatalf("%v", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		c.fatalf("%v", err)
	}
	meta := filepath.Join(c.dir, "meta-"+id)
	c.ocis = append(c.ocis, id)
	args := []string{"--root", s.stateRoot, "run", "--bundle", bundle, "--meta", meta, id}
	return c.startCmd(args, spec{}, meta).wait()
}

// ociGone checks that a finished OCI container left nothing: no state, no
// cgroups, no mounts of its bundle, no process of its user.
func (c *ctx) ociGone(id string) {
	if _, _, err := c.runtime("state", id); err == nil {
		c.failf("container %s still exists after run returned", id)
		_, _, _ = c.runtime("delete", "--force", id)
	}
	for _, mp := range cgroupMounts() {
		if d := filepath.Join(mp, c.s.cgParent, id); fileExists(d) {
			c.failf("cgroup %s remains after the run", d)
		}
	}
	if m := mountsUnder(filepath.Join(c.dir, "bundle-"+id)); len(m) > 0 {
		c.failf("mounts %v of the bundle remain", m)
	}
	c.checkUID(ociUID, 0, nil)
	data, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(data), "bundle-"+id) {
		c.failf("the host's mount table still names the bundle of %s", id)
	}
}
