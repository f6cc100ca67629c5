package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mini-isolate/mini-isolate/profiles"
)

// interactorSource makes a problem interactive: the judge's interactor, in
// C, which reads the test from argv[1] and talks to the solution.
const interactorSource = "interactor.c"

// interactive says whether problem has an interactor.
func interactive(problem string) bool {
	_, err := os.Stat(filepath.Join(problem, interactorSource))
	return err == nil
}

// prepareInteractor compiles the interactor with the c profile and writes
// one run bundle per test: the compiled box bound read-only at /box and
// the tests at /data, where only the interactor's sandbox sees them.
func (j *judge) prepareInteractor(problem string, tests []test) error {
	dir := filepath.Join(j.work, "interactor")
	compile := filepath.Join(dir, "compile")
	if err := j.mi("spec", "--profile", "c", "--stage", "compile", "--bundle", compile, "--stderr-to-stdout"); err != nil {
		return err
	}
	box := filepath.Join(compile, profiles.BoxDir)
	if err := copyFile(filepath.Join(problem, interactorSource), filepath.Join(box, "main.c"), 0o644); err != nil {
		return err
	}
	m, log, err := j.judged(compile, nil)
	if err != nil {
		return err
	}
	if m["status"] != "" {
		return fmt.Errorf("the interactor did not compile: %s", firstLines(log, 6))
	}
	data, err := filepath.Abs(filepath.Join(problem, "tests"))
	if err != nil {
		return err
	}
	j.interactors = map[string]string{}
	for _, t := range tests {
		bundle := filepath.Join(dir, "run-"+t.name)
		args := append([]string{"spec", "--profile", "c", "--bundle", bundle, "--dir", "box=" + box, "--dir", "data=" + data},
			problemLimits...)
		if err := j.mi(append(args, "--", "./main", "/data/"+t.name+".in")...); err != nil {
			return err
		}
		j.interactors[t.name] = bundle
	}
	return nil
}

// interact runs a test of an interactive problem: the interactor's
// bundle against the solution's, with the problem's wall-time limit for
// the whole interaction. It returns the report.
func (j *judge) interact(interactor, solution string) (map[string]string, error) {
	j.runs++
	metaPath := filepath.Join(filepath.Dir(solution), fmt.Sprintf("interact-%d.meta", j.runs))
	cmd := exec.Command(j.bin, "--root", j.root, "interact", "--wall-time", "3", "--meta", metaPath, "--",
		"--bundle", interactor, ":::", "--bundle", solution)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("mini-isolate interact: %v: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	return parseMeta(data), nil
}
