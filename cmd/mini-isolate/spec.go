package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/mini-isolate/mini-isolate/policy"
	"github.com/mini-isolate/mini-isolate/profiles"
	"github.com/mini-isolate/mini-isolate/specconv"
)

// profileFlags are spec's flags that only make sense with --profile.
var profileFlags = []cli.Flag{
	&cli.StringFlag{Name: "profile", Usage: "write a judged bundle for language profile `NAME` (see mini-isolate profile list)"},
	&cli.StringFlag{Name: "stage", Usage: "`STAGE` of the profile: compile or run (default: run)"},
	profilesDirFlag,
	&cli.StringFlag{Name: "time", Usage: "CPU time limit in `SECONDS` (0: none)"},
	&cli.StringFlag{Name: "wall-time", Usage: "wall-clock limit in `SECONDS` (0: none)"},
	&cli.StringFlag{Name: "extra-time", Usage: "grace after --time before the kill, in `SECONDS`"},
	&cli.StringFlag{Name: "mem", Usage: "address-space limit per process (RLIMIT_AS) in `KiB` (0: none)"},
	&cli.StringFlag{Name: "cg-mem", Usage: "memory limit of the program (cgroup) in `KiB` (0: none)"},
	&cli.StringFlag{Name: "stack", Usage: "stack limit in `KiB` (0: inherited)"},
	&cli.StringFlag{Name: "fsize", Usage: "file size limit in `KiB` (0: none)"},
	&cli.StringFlag{Name: "output-limit", Usage: "limit on stdout plus stderr in `KiB` (0: none)"},
	&cli.StringFlag{Name: "open-files", Usage: "open files limit `N` (0: inherited)"},
	&cli.StringFlag{Name: "processes", Usage: "most processes and threads at once `N` (0: no limit)"},
	&cli.StringSliceFlag{Name: "dir", Usage: "isolate directory `RULE` IN[=OUT][:OPTIONS], after the profile's (repeatable)"},
	&cli.StringSliceFlag{Name: "env", Usage: "isolate environment `RULE` VAR[=VALUE], after the profile's (repeatable)"},
	&cli.StringFlag{Name: "stdin", Usage: "`FILE` in /box to read stdin from"},
	&cli.StringFlag{Name: "stdout", Usage: "`FILE` in /box to write stdout to"},
	&cli.StringFlag{Name: "stderr", Usage: "`FILE` in /box to write stderr to"},
	&cli.BoolFlag{Name: "stderr-to-stdout", Usage: "send stderr wherever stdout goes"},
	&cli.StringFlag{Name: "meta", Usage: "host `FILE` for the report (- for stdout)"},
	&cli.StringFlag{Name: "uid", Usage: "run as user `ID` instead of the profile's"},
	&cli.StringFlag{Name: "gid", Usage: "run as group `ID` instead of the profile's"},
}

var specCommand = &cli.Command{
	Name:      "spec",
	Usage:     "write a starting config.json into a bundle, or a judged bundle for a language profile",
	ArgsUsage: "[-- COMMAND [ARGS...]] (with --profile)",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle `DIR` to write config.json into (default: the current directory)"},
		&cli.BoolFlag{Name: "rootless", Usage: "write a config for an unprivileged user"},
	}, profileFlags...),
	Action: func(c *cli.Context) error {
		dir := c.String("bundle")
		if dir == "" {
			dir = "."
		}
		if c.IsSet("profile") {
			return profileSpec(c, dir)
		}
		for _, f := range profileFlags {
			if name := f.Names()[0]; c.IsSet(name) {
				return fmt.Errorf("--%s needs --profile", name)
			}
		}
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		spec := specconv.Example()
		if c.Bool("rootless") {
			specconv.ToRootless(spec)
		}
		path := filepath.Join(dir, specconv.ConfigName)
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; remove it first", path)
		}
		if err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("spec: %w", err)
		}
		return f.Close()
	},
}

// profileSpec writes a judged bundle for a stage of a profile.
func profileSpec(c *cli.Context, dir string) error {
	if c.Bool("rootless") {
		return errors.New("--rootless does not apply to --profile: judged bundles run as root")
	}
	set, err := loadProfiles(c)
	if err != nil {
		return err
	}
	p, err := set.Get(c.String("profile"))
	if err != nil {
		return err
	}
	stage := c.String("stage")
	if stage == "" {
		stage = profiles.StageRun
	}
	if stage != profiles.StageCompile && stage != profiles.StageRun {
		return fmt.Errorf("invalid --stage %q: want compile or run", stage)
	}
	st := p.Stage(stage)
	if st == nil {
		return fmt.Errorf("profile %s has no %s stage (it has: %s)", p.Name, stage, joinNames(p.StageNames()))
	}
	o := profiles.BundleOptions{
		Stage:          stage,
		Args:           c.Args().Slice(),
		Stdin:          c.String("stdin"),
		Stdout:         c.String("stdout"),
		Stderr:         c.String("stderr"),
		StderrToStdout: c.Bool("stderr-to-stdout"),
		Meta:           c.String("meta"),
	}
	limits := st.Limits
	if err := limitFlags(c, &limits); err != nil {
		return err
	}
	o.Limits = &limits
	for _, d := range c.StringSlice("dir") {
		r, err := policy.ParseDirRule(d)
		if err != nil {
			return fmt.Errorf("--dir: %w", err)
		}
		o.Dirs = append(o.Dirs, r)
	}
	for _, e := range c.StringSlice("env") {
		r, err := policy.ParseEnvRule(e)
		if err != nil {
			return fmt.Errorf("--env: %w", err)
		}
		o.Env = append(o.Env, r)
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"uid", &o.UID}, {"gid", &o.GID}} {
		if !c.IsSet(f.name) {
			continue
		}
		v := c.String(f.name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<32-1 {
			return fmt.Errorf("invalid --%s %q: want an id between 1 and 4294967294; a sandbox must not run as root", f.name, v)
		}
		*f.dst = n
	}
	if _, err := profiles.WriteBundle(dir, p, o); err != nil {
		return fmt.Errorf("spec --profile %s: %w", p.Name, err)
	}
	return nil
}

// limitFlags applies the limit flags that were given to l. They take
// isolate's units: seconds, KiB, counts; 0 lifts the limit.
func limitFlags(c *cli.Context, l *policy.Limits) error {
	for _, f := range []struct {
		name string
		dst  *policy.Duration
	}{{"time", &l.Time}, {"wall-time", &l.WallTime}, {"extra-time", &l.ExtraTime}} {
		if !c.IsSet(f.name) {
			continue
		}
		d, err := policy.ParseSeconds(c.String(f.name))
		if err != nil {
			return fmt.Errorf("invalid --%s %w", f.name, err)
		}
		*f.dst = d
	}
	for _, f := range []struct {
		name string
		dst  *policy.Size
	}{{"mem", &l.AddressSpace}, {"cg-mem", &l.Memory}, {"stack", &l.Stack}, {"fsize", &l.FileSize}, {"output-limit", &l.Output}} {
		if !c.IsSet(f.name) {
			continue
		}
		v := c.String(f.name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > policy.MaxSize>>10 {
			return fmt.Errorf("invalid --%s %q: want KiB as a whole number between 0 and %d", f.name, v, int64(policy.MaxSize>>10))
		}
		*f.dst = policy.Size(n << 10)
	}
	for _, f := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"open-files", &l.OpenFiles, policy.MaxOpenFiles}, {"processes", &l.Processes, policy.MaxProcesses}} {
		if !c.IsSet(f.name) {
			continue
		}
		v := c.String(f.name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > f.max {
			return fmt.Errorf("invalid --%s %q: want a whole number between 0 and %d", f.name, v, f.max)
		}
		*f.dst = n
	}
	return nil
}
