package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// unifiedControllers is the file crun <= 1.8 reads to refuse hybrid hosts:
// it fails whenever the cgroup2 mount of a v1 host has any controller.
const unifiedControllers = "/sys/fs/cgroup/unified/cgroup.controllers"

// hybridWrapper returns an argv prefix that runs a command in a private mount
// namespace in which unifiedControllers reads as empty. The host's mounts
// are untouched, but the unshare, shell and mount add their own cost.
func hybridWrapper() ([]string, error) {
	if _, err := os.Stat(unifiedControllers); err != nil {
		return nil, fmt.Errorf("no hybrid cgroup layout to hide: %w", err)
	}
	var paths [3]string
	for i, name := range []string{"unshare", "sh", "mount"} {
		p, err := resolveExecutable(name)
		if err != nil {
			return nil, fmt.Errorf("building crun wrapper: %w", err)
		}
		paths[i] = p
	}
	script := fmt.Sprintf("%s --bind /dev/null %s && exec \"$@\"", shellQuote(paths[2]), shellQuote(unifiedControllers))
	return []string{paths[0], "--mount", "--propagation", "private", "--", paths[1], "-c", script, "crun-wrapper"}, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// probeArgs is the probe container's process. Its exit status proves that a
// runtime really ran the container and passes the status through, which
// /bin/true cannot: a runtime that does nothing and exits 0 would look fast.
var probeArgs = []string{"/bin/sh", "-c", "exit 7"}

// probeExit is the exit status probeArgs produces.
const probeExit = 7

// probe runs the probe bundle once with s and reports why it failed.
func probe(ctx context.Context, r *runner, probeBundle string, s *subject, idPrefix string) error {
	id := fmt.Sprintf("%s-probe-%s", idPrefix, slug(s.label))
	res := r.run(ctx, s.runtimeArgv("run", "--bundle", probeBundle, id))
	if res.exit == probeExit && ctx.Err() == nil {
		return nil
	}
	deleteContainer(ctx, r, s, id)
	if res.err == nil {
		return fmt.Errorf("probe run of %q exited 0, want %d: the container did not run or its exit status was lost",
			strings.Join(probeArgs, " "), probeExit)
	}
	return fmt.Errorf("probe run of %q (want exit status %d) failed: %s", strings.Join(probeArgs, " "), probeExit, res.describe())
}

// setupCrun returns crun as a subject, through the hybrid wrapper if it
// cannot run as it is, or an error saying why neither works.
func setupCrun(ctx context.Context, r *runner, probeBundle, path, root, idPrefix string) (*subject, error) {
	plain := &subject{label: "crun", path: path, root: root}
	perr := probe(ctx, r, probeBundle, plain, idPrefix)
	if perr == nil {
		return plain, nil
	}
	fmt.Fprintf(os.Stderr, "bench: crun as it is: %v; retrying through the hybrid-cgroup wrapper\n", perr)
	wrapper, err := hybridWrapper()
	if err != nil {
		return nil, fmt.Errorf("%v; %w", perr, err)
	}
	wrapped := &subject{
		label:   "crun (wrapped)",
		path:    path,
		root:    root,
		wrapper: wrapper,
		note: "crun <= 1.8 refuses hybrid cgroups while " + unifiedControllers + " is non-empty, " +
			"so crun (wrapped) is crun under unshare -m + sh + a bind mount of /dev/null over that file; " +
			"its times include this wrapper (see the wrapper-overhead table)",
	}
	if werr := probe(ctx, r, probeBundle, wrapped, idPrefix); werr != nil {
		return nil, fmt.Errorf("as it is: %v; wrapped: %w", perr, werr)
	}
	return wrapped, nil
}

// wrapperOverheadScenario times the crun wrapper around /bin/true against
// /bin/true alone, to size what the wrapper adds to every crun run.
func wrapperOverheadScenario(wrapper []string, truePath string) *scenario {
	bare := &subject{label: "/bin/true", path: truePath}
	wrapped := &subject{label: "wrapper + /bin/true", path: truePath, wrapper: wrapper}
	return &scenario{
		name:     "wrapper-overhead",
		title:    "crun's hybrid-cgroup wrapper around /bin/true vs /bin/true alone",
		baseline: bare.label,
		subjects: []*subject{bare, wrapped},
		command: func(s *subject, _ string) []string {
			return append(append([]string{}, s.wrapper...), s.path)
		},
	}
}
