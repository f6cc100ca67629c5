package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// stepTimeout bounds one command: a runtime that hangs fails the case.
const stepTimeout = 20 * time.Second

// observed is what one runtime did in a case: one line per fact compared.
type observed struct {
	facts []string
	log   []string // command lines and output, for -v and failures
}

// play runs a case's steps with one runtime and records what happened.
func (s *suite) play(rt runtime, c tcase) *observed {
	o := &observed{}
	e, err := s.newEnv(rt, c)
	if err != nil {
		o.facts = append(o.facts, "setup: "+err.Error())
		return o
	}
	defer e.cleanup()
	for i, st := range c.steps {
		fact, log := e.do(st)
		if fact != "" {
			o.facts = append(o.facts, fmt.Sprintf("step %d %s", i+1, fact))
		}
		o.log = append(o.log, log)
	}
	status, pid := e.state()
	o.facts = append(o.facts, "status afterwards: "+status)
	for _, f := range c.cgroup {
		o.facts = append(o.facts, fmt.Sprintf("%s afterwards: %s", f, cgroupValue(pid, f)))
	}
	return o
}

// do runs one step: a command line, or a pseudo-step starting with "@".
func (e *env) do(st step) (fact, log string) {
	args := make([]string, len(st.args))
	for i, a := range st.args {
		args[i] = e.expand(a)
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "@") {
		return e.pseudo(args)
	}
	if st.global {
		args = append([]string{"--root", e.root}, args...)
	}
	code, stdout, stderr := e.exec(args, st)
	shown := e.normalize(strings.Join(args, " "))
	fact = fmt.Sprintf("`%s`: exit %d", shown, code)
	if st.out {
		fact += fmt.Sprintf(", stdout %q", e.normalize(stdout))
	}
	log = fmt.Sprintf("$ %s %s\n  exit %d\n  stdout: %.300q\n  stderr: %.300q", e.rt.name, shown, code, e.normalize(stdout), e.normalize(stderr))
	return fact, log
}

// exec runs the runtime with stdout and stderr in files, not pipes: a
// detached container keeps its copies open.
func (e *env) exec(args []string, st step) (code int, stdout, stderr string) {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.rt.bin, args...)
	cmd.Dir = e.tmp
	cmd.Stdin = strings.NewReader(st.stdin)
	outF, errF := filepath.Join(e.tmp, ".stdout"), filepath.Join(e.tmp, ".stderr")
	outW, err := os.Create(outF)
	if err != nil {
		return -1, "", err.Error()
	}
	defer outW.Close()
	errW, err := os.Create(errF)
	if err != nil {
		return -1, "", err.Error()
	}
	defer errW.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	for range st.extraFiles {
		f, err := os.Open("/dev/null")
		if err != nil {
			return -1, "", err.Error()
		}
		defer f.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	stop := e.listen(args)
	err = cmd.Run()
	stop()
	code = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		code = -1
	} else if err != nil && code < 0 {
		return -1, "", err.Error()
	}
	out, _ := os.ReadFile(outF)
	errOut, _ := os.ReadFile(errF)
	return code, string(out), string(errOut)
}

// listen serves the console and pidfd sockets a command line names; stop
// keeps what they received in e.held.
func (e *env) listen(args []string) (stop func()) {
	var stops []func() []int
	for _, a := range args {
		if strings.HasSuffix(a, ".sock") {
			stops = append(stops, serveFDSocket(a))
		}
	}
	return func() {
		for _, s := range stops {
			e.held = append(e.held, s()...)
		}
	}
}

// pseudo runs a step that is not a command line: "@wait STATUS",
// "@mkcg NAME", "@write PATH TEXT", "@file PATH", "@cgroup FILE".
func (e *env) pseudo(args []string) (fact, log string) {
	switch args[0] {
	case "@wait":
		deadline := time.Now().Add(5 * time.Second)
		status, _ := e.state()
		for status != args[1] && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			status, _ = e.state()
		}
		return "", "@wait: " + status
	case "@mkcg":
		_, pid := e.state()
		err := makeSubCgroup(pid, args[1])
		return fmt.Sprintf("sub-cgroup %s: %v", args[1], err == nil), fmt.Sprintf("@mkcg %s: %v", args[1], err)
	case "@write":
		err := os.WriteFile(args[1], []byte(args[2]), 0o644)
		return "", fmt.Sprintf("@write %s: %v", args[1], err)
	case "@file":
		return fmt.Sprintf("file %s: %s", e.normalize(args[1]), fileKind(args[1])), ""
	case "@cgroup":
		_, pid := e.state()
		return fmt.Sprintf("%s: %s", args[1], cgroupValue(pid, args[1])), ""
	}
	return "unknown pseudo-step " + args[0], ""
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// fileKind describes a file without its content, which differs between
// runtimes (pids, times).
func fileKind(path string) string {
	data, err := os.ReadFile(path)
	switch {
	case err != nil:
		return "missing"
	case len(data) == 0:
		return "empty"
	case digits.Match(data):
		return "a number"
	case json.Valid(data):
		return "JSON"
	}
	return "text"
}

// state returns the container's status ("absent" when state fails) and
// its init's pid.
func (e *env) state() (status string, pid int) {
	out, err := exec.Command(e.rt.bin, "--root", e.root, "state", e.id).Output()
	if err != nil {
		return "absent", 0
	}
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "unreadable state", 0
	}
	return st.Status, st.Pid
}
