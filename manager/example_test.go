package manager_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/mini-isolate/mini-isolate/manager"
	"github.com/mini-isolate/mini-isolate/policy"
)

// A judge runs a program on two tests in box 0 through the native API: the
// program goes in with put, the tests run in one batch whose reports
// stream back, and the outputs come out with get.
func Example() {
	c, err := manager.Dial("/run/mini-isolate/locks/manager.sock")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do(&manager.Request{Op: "init", Box: 0, Cg: true}); err != nil {
		log.Fatal(err)
	}
	defer c.Do(&manager.Request{Op: "cleanup", Box: 0, Cg: true})
	script := []byte("#!/bin/sh\nread a b\necho $((a + b))\n")
	if _, err := c.Do(&manager.Request{Op: "put", Box: 0, Path: "sum.sh", Data: script, Mode: 0o755}); err != nil {
		log.Fatal(err)
	}
	limits := policy.Limits{Time: policy.Duration(1e9), Memory: 64 << 20, Processes: 4}
	var runs []*manager.RunSpec
	for i, in := range []string{"1 2\n", "20 22\n"} {
		runs = append(runs, &manager.RunSpec{Args: []string{"/bin/sh", "./sum.sh"}, StdinData: []byte(in),
			Stdout: fmt.Sprintf("out%d.txt", i), Limits: limits})
	}
	err = c.Batch(&manager.Request{Box: 0, Cg: true, Runs: runs}, func(r *manager.Reply) {
		fmt.Printf("test %d: %s in %v\n", r.Index, r.Report.Status, r.Report.Time)
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := c.Do(&manager.Request{Op: "get", Box: 0, Path: "out1.txt"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", out.Data)
}

// A service serves the system configuration's boxes until it is stopped,
// as cmd/mini-isolate-manager does; a second manager for the same socket
// returns at once.
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := manager.Run(ctx, "", 0); err != nil {
		log.Fatal(err)
	}
}
