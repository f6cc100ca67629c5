package privilege_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/mini-isolate/mini-isolate/internal/privilege"
)

// A test binary run by go test is a plain execution, whoever runs it:
// cmd/mini-isolate's TestRaisedPrivileges checks the set-ID and
// file-capability executions.
func TestRaisedByExecPlain(t *testing.T) {
	if privilege.RaisedByExec() {
		t.Fatalf("a plain execution (uid %d, euid %d) reads as raised", os.Getuid(), os.Geteuid())
	}
}

func ExampleRaisedByExec() {
	if os.Getuid() != 0 && privilege.RaisedByExec() {
		fmt.Fprintln(os.Stderr, "refusing to run with privileges the caller lacks")
		os.Exit(1)
	}
	fmt.Println("plain execution")
	// Output: plain execution
}
