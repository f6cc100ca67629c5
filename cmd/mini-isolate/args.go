package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// inOrder lists the commands whose arguments are parsed strictly in order,
// as runc parses them: what follows exec's container id is the command
// line to run, and what follows ps's are ps(1) options.
var inOrder = map[string]bool{"exec": true, "ps": true}

// interspersed returns argv with the flags of the command it names moved
// in front of that command's positional arguments, so that
// "kill ID KILL --all" and "update ID --memory 64M" parse as runc parses
// them. urfave/cli v2 stops at the first positional argument; v1, which
// runc uses, reorders. Arguments after "--" stay where they are.
func interspersed(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	i := skipFlags(app.Flags, argv, 1)
	cmds := app.Commands
	for i < len(argv) {
		cmd := findCommand(cmds, argv[i])
		if cmd == nil {
			return argv
		}
		if cmd.SkipFlagParsing || inOrder[cmd.Name] {
			return argv
		}
		if len(cmd.Subcommands) == 0 {
			out := append([]string{}, argv[:i+1]...)
			return append(out, reorder(cmd.Flags, argv[i+1:])...)
		}
		i = skipFlags(cmd.Flags, argv, i+1)
		cmds = cmd.Subcommands
	}
	return argv
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// skipFlags returns the index of the first argument from i on that is not
// one of flags or a flag's value.
func skipFlags(flags []cli.Flag, argv []string, i int) int {
	for i < len(argv) {
		takes, known := flagArity(flags, argv[i])
		if !known {
			return i
		}
		i++
		if takes {
			i++
		}
	}
	return i
}

// reorder puts flags (with their values) first and positional arguments
// after them. A "--" and what follows it stay last, in order.
func reorder(flags []cli.Flag, args []string) []string {
	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		takes, known := flagArity(flags, a)
		if !known {
			pos = append(pos, a)
			continue
		}
		opts = append(opts, a)
		if takes && i+1 < len(args) {
			i++
			opts = append(opts, args[i])
		}
	}
	return append(opts, pos...)
}

// flagArity reports whether arg is one of flags (or -h/--help), and
// whether it takes the next argument as its value ("--memory 64M", but
// not "--memory=64M" or "--force").
func flagArity(flags []cli.Flag, arg string) (takesNext, known bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return false, false
	}
	name := strings.TrimLeft(arg, "-")
	name, _, hasValue := strings.Cut(name, "=")
	if name == "h" || name == "help" {
		return false, true
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			vf, ok := f.(cli.DocGenerationFlag)
			return ok && vf.TakesValue() && !hasValue, true
		}
	}
	return false, false
}
