package kmsg

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestFind writes a record of its own to the log and finds it after a
// mark, and finds nothing that was logged before the mark; at the log's
// end it returns once its wait has passed instead of blocking.
func TestFind(t *testing.T) {
	w, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("cannot write the kernel log here: %v", err)
	}
	defer w.Close()
	tag := fmt.Sprintf("kmsg-test-%d", os.Getpid())
	if _, err := fmt.Fprintf(w, "%s before\n", tag); err != nil {
		t.Fatal(err)
	}
	r, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SeekEnd(); err != nil {
		t.Fatal(err)
	}
	has := func(s string) func([]byte) bool {
		return func(rec []byte) bool { return bytes.Contains(rec, []byte(tag+" "+s)) }
	}
	began := time.Now()
	if r.Find(50*time.Millisecond, has("before")) {
		t.Error("a record logged before the mark was found after it")
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Find at the log's end took %v for a 50 ms wait", took)
	}
	if _, err := fmt.Fprintf(w, "%s after\n", tag); err != nil {
		t.Fatal(err)
	}
	if !r.Find(time.Second, has("after")) {
		t.Error("the record logged after the mark was not found")
	}
}
