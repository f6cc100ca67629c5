package main

import (
	"slices"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp()
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"update", "ID", "--memory", "64M"}, []string{"update", "--memory", "64M", "ID"}},
		{[]string{"update", "ID", "--memory=64M", "--pids-limit", "-1"}, []string{"update", "--memory=64M", "--pids-limit", "-1", "ID"}},
		{[]string{"kill", "ID", "KILL", "--all"}, []string{"kill", "--all", "ID", "KILL"}},
		{[]string{"kill", "ID", "-a", "0"}, []string{"kill", "-a", "ID", "0"}},
		{[]string{"delete", "ID", "--force"}, []string{"delete", "--force", "ID"}},
		{[]string{"--root", "/r", "--debug", "delete", "ID", "-f"}, []string{"--root", "/r", "--debug", "delete", "-f", "ID"}},
		{[]string{"run", "ID", "-b", "bundle", "-d"}, []string{"run", "-b", "bundle", "-d", "ID"}},
		// A flag's value is never taken for a positional argument.
		{[]string{"run", "--bundle", "ID", "other"}, []string{"run", "--bundle", "ID", "other"}},
		// After "--", everything stays in place.
		{[]string{"delete", "--", "ID", "--force"}, []string{"delete", "--", "ID", "--force"}},
		// Unknown flags stay where they are, for the parser to name.
		{[]string{"delete", "ID", "--forse"}, []string{"delete", "ID", "--forse"}},
		// exec's and ps's arguments after the id are the program's.
		{[]string{"exec", "ID", "ls", "-l", "--env", "A=1"}, []string{"exec", "ID", "ls", "-l", "--env", "A=1"}},
		{[]string{"ps", "ID", "-ef"}, []string{"ps", "ID", "-ef"}},
		// isolate's own parser sees its arguments unchanged.
		{[]string{"isolate", "--run", "--", "/bin/true", "-x"}, []string{"isolate", "--run", "--", "/bin/true", "-x"}},
		// Subcommands.
		{[]string{"profile", "show", "c", "--profiles-dir", "d"}, []string{"profile", "show", "--profiles-dir", "d", "c"}},
		{[]string{"--version"}, []string{"--version"}},
		{[]string{"nosuchcommand", "x", "--y"}, []string{"nosuchcommand", "x", "--y"}},
	} {
		got := interspersed(app, append([]string{"mini-isolate"}, tc.in...))[1:]
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
