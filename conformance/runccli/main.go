// Command runccli drives mini-isolate and runc through the same command
// lines, side by side on the same bundle, and compares what happened: each
// command's exit status, the container's state afterwards, and the cgroup
// values it was given. A difference fails the run unless docs/oci-compat.md
// lists the case as intended.
//
//	go run ./conformance/runccli -runtime bin/mini-isolate -reference bin/ref/runc
//
// It must run as root. Exit status: 0 when every difference is intended, 1
// otherwise, 2 on setup errors.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"time"
)

const (
	exitDiffers = 1
	exitSetup   = 2
)

type options struct {
	runtime, reference string
	intended           string
	run                *regexp.Regexp
	verbose            bool
}

func parseFlags(args []string) (*options, error) {
	fl := flag.NewFlagSet("runccli", flag.ContinueOnError)
	o := &options{}
	var run string
	fl.StringVar(&o.runtime, "runtime", "bin/mini-isolate", "runtime under test")
	fl.StringVar(&o.reference, "reference", "bin/ref/runc", "runc to compare with")
	fl.StringVar(&o.intended, "intended", "docs/oci-compat.md", "document that lists the intended differences")
	fl.StringVar(&run, "run", "", "run only the cases whose name matches this regular expression")
	fl.BoolVar(&o.verbose, "v", false, "print every command line and what each runtime did")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	re, err := regexp.Compile(run)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	o.run = re
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runccli:", err)
		os.Exit(exitSetup)
	}
	os.Exit(run(o))
}

func run(o *options) int {
	began := time.Now()
	s, err := newSuite(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runccli: setup:", err)
		return exitSetup
	}
	defer s.close()
	var rows []result
	for _, c := range cases() {
		if !o.run.MatchString(c.name) {
			continue
		}
		rows = append(rows, s.compare(c))
	}
	return report(os.Stdout, rows, s.intended, o.run.String() == "", time.Since(began))
}
