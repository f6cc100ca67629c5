package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestTally(t *testing.T) {
	ev := func(action, pkg, test, output string) event {
		return event{Action: action, Package: pkg, Test: test, Output: output}
	}
	for _, tc := range []struct {
		name   string
		events []event
		want   string
	}{
		{"pass, fail and skip", []event{
			ev("run", "p", "TestA", ""), ev("pass", "p", "TestA", ""),
			ev("run", "p", "TestB", ""), ev("output", "p", "TestB", "    b_test.go:9: boom\n"), ev("fail", "p", "TestB", ""),
			ev("output", "p", "TestC", "    c_test.go:3: needs a quota\n"), ev("output", "p", "TestC", "--- SKIP: TestC (0.00s)\n"), ev("skip", "p", "TestC", ""),
			ev("fail", "p", "", ""),
		}, "passed 1\nfailed 1\nskipped 1\nskip p TestC: needs a quota\nfail p TestB\n"},
		{"a package that fails without a failed test", []event{
			ev("output", "p", "", "panic: init\n"), ev("fail", "p", "", ""),
		}, "passed 0\nfailed 1\nskipped 0\nfail p\n"},
		{"a build failure", []event{
			{Action: "build-output", ImportPath: "p [p.test]", Output: "x.go:1: syntax error\n"}, {Action: "build-fail", ImportPath: "p [p.test]"},
			ev("output", "p", "", "FAIL\tp [build failed]\n"), ev("fail", "p", "", ""),
		}, "passed 0\nfailed 1\nskipped 0\nfail p\n"},
		{"host cases", []event{
			ev("output", "p", "TestD", "    d_test.go:7: host case: TestD: no 32-bit entry\n"), ev("pass", "p", "TestD", ""),
		}, "passed 1\nfailed 0\nskipped 0\nhost p TestD: no 32-bit entry\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTally()
			for _, e := range tc.events {
				// Round-trip through JSON, as go test writes the events.
				data, _ := json.Marshal(e)
				var back event
				if err := json.Unmarshal(data, &back); err != nil {
					t.Fatal(err)
				}
				tl.add(back, io.Discard)
			}
			var b strings.Builder
			tl.write(&b)
			if b.String() != tc.want {
				t.Errorf("counts:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}
