// Command demo walks through mini-isolate's OCI lifecycle on a bundle made
// by `mini-isolate spec` over host directories bound read-only.
//
//	go run ./hack/demo -bin bin/mini-isolate
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	bin := flag.String("bin", "bin/mini-isolate", "mini-isolate binary")
	flag.Parse()
	if err := run(*bin); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(bin string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mini-isolate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "state")
	bundle := filepath.Join(work, "bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		return err
	}
	mi := func(args ...string) *exec.Cmd {
		return exec.Command(bin, append([]string{"--root", root}, args...)...)
	}

	step("mini-isolate spec --bundle %s", bundle)
	if out, err := mi("spec", "--bundle", bundle).CombinedOutput(); err != nil {
		return fmt.Errorf("spec: %v: %s", err, out)
	}
	if err := adapt(bundle); err != nil {
		return err
	}
	fmt.Println("  config.json: rootfs is an empty directory; /bin /lib /lib64 /usr are bound read-only from the host")

	id := fmt.Sprintf("demo-%d", os.Getpid())
	step("mini-isolate create --bundle %s %s", bundle, id)
	out, err := os.CreateTemp(work, "out")
	if err != nil {
		return err
	}
	create := mi("create", "--bundle", bundle, id)
	create.Stdout, create.Stderr = out, out
	if err := create.Run(); err != nil {
		return fmt.Errorf("create: %v", err)
	}
	if err := show(mi("state", id)); err != nil {
		return err
	}

	step("mini-isolate start %s", id)
	if err := show(mi("start", id)); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		data, err := mi("state", id).Output()
		if err != nil {
			return fmt.Errorf("state: %v", err)
		}
		var s specs.State
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if s.Status == specs.StateStopped {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container still %s after 10s", s.Status)
		}
	}
	step("the container's output (its stdout was create's)")
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return err
	}
	fmt.Print(indent(string(data)))
	step("mini-isolate state %s  (stopped without anyone waiting)", id)
	if err := show(mi("state", id)); err != nil {
		return err
	}
	step("mini-isolate delete %s", id)
	if err := show(mi("delete", id)); err != nil {
		return err
	}

	step("mini-isolate run --bundle %s %s-run  (exit status is the container's)", bundle, id)
	runCmd := mi("run", "--bundle", bundle, id+"-run")
	runCmd.Stdout, runCmd.Stderr = os.Stdout, os.Stderr
	err = runCmd.Run()
	fmt.Printf("  exit status: %d\n", runCmd.ProcessState.ExitCode())
	if runCmd.ProcessState.ExitCode() != 3 {
		return fmt.Errorf("run: want exit status 3, got %v", err)
	}
	return nil
}

// adapt turns spec's example into a sandbox over the host's own binaries.
func adapt(bundle string) error {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/sh", "-c", "echo hello from $(hostname); id; ls /; exit 3"}
	s.Process.User = specs.User{UID: 65534, GID: 65534}
	s.Hostname = "sandbox"
	for _, dir := range []string{"/bin", "/lib", "/lib64", "/usr"} {
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() && fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if fi, _ := os.Lstat(dir); fi.Mode()&os.ModeSymlink != 0 {
			// Merged /usr: /bin is a symlink to usr/bin; recreate it.
			target, err := os.Readlink(dir)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, filepath.Join(bundle, "rootfs", dir)); err != nil {
				return err
			}
			continue
		}
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: dir, Type: "bind", Source: dir,
			Options: []string{"rbind", "ro", "nosuid", "nodev"},
		})
	}
	out, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func step(format string, args ...any) {
	fmt.Printf("\n$ "+format+"\n", args...)
}

func show(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	fmt.Print(indent(string(out)))
	if err != nil {
		return fmt.Errorf("%s: %v", strings.Join(cmd.Args[3:], " "), err)
	}
	return nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
