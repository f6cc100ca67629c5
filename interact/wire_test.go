package interact

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mini-isolate/mini-isolate/runtime/meta"
)

// hostParty runs a shell command on the host: these tests check the
// wiring (pipes, relays, transcript), not the sandbox, which the
// command's own tests do.
type hostParty string

func (p hostParty) String() string { return string(p) }

func (p hostParty) Run(ctx context.Context, w Wiring) (*meta.Result, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", string(p))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = w.Stdin, w.Stdout, os.Stderr
	cmd.ExtraFiles = w.Extra
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.Started()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	r := &meta.Result{Status: meta.OK}
	switch ws := cmd.ProcessState.Sys().(syscall.WaitStatus); {
	case ws.Signaled():
		sig := int(ws.Signal())
		r.Status, r.ExitSig = meta.Signaled, &sig
	case ws.ExitStatus() != 0:
		r.Status = meta.RuntimeError
		fallthrough
	default:
		code := ws.ExitStatus()
		r.ExitCode = &code
	}
	return r, nil
}

func TestWiring(t *testing.T) {
	flood := "head -c 8388608 /dev/zero"
	count := `[ "$(wc -c)" -eq 8388608 ]`
	for _, tc := range []struct {
		name       string
		interactor string
		users      []string
		o          Options
		verdict    string
		transcript []string // lines the transcript must have
	}{
		{name: "stdio", interactor: `echo hello; read x; [ "$x" = 5 ]`, users: []string{"read s; echo 5"}, verdict: Accepted},
		{name: "stdio with a transcript", interactor: `echo hello; read x; [ "$x" = 5 ]`, users: []string{"read s; echo 5"},
			o: Options{Transcript: &bytes.Buffer{}}, verdict: Accepted,
			transcript: []string{`interactor -> solution: "hello\n"`, `solution -> interactor: "5\n"`}},
		{name: "the interactor's wrong answer", interactor: "read x; exit 1", users: []string{"echo 1"}, verdict: WrongAnswer},
		{name: "a relay passes EPIPE on: SIGPIPE after WA is WA", interactor: "read x; exit 1",
			users: []string{"trap '' TERM; while :; do echo 1; done"}, o: Options{Transcript: &bytes.Buffer{}}, verdict: WrongAnswer},
		{name: "a flood through a capped transcript", interactor: count, users: []string{flood},
			o: Options{Transcript: &bytes.Buffer{}, TranscriptLimit: 100}, verdict: Accepted,
			transcript: []string{"(transcript cut at its limit of 100 bytes; the exchange was 8388608 bytes)"}},
		{name: "a manager and two users", o: Options{Channels: FDs},
			interactor: `echo 2 >&4; echo 3 >&6; read a <&3; read b <&5; [ "$a$b" = 46 ]`,
			users:      []string{"read x; echo $((x*2))", "read x; echo $((x*2))"}, verdict: Accepted},
		{name: "a manager and two users, recorded", o: Options{Channels: FDs, Transcript: &bytes.Buffer{}},
			interactor: `echo 2 >&4; echo 3 >&6; read a <&3; read b <&5; [ "$a$b" = 46 ]`,
			users:      []string{"read x; echo $((x*2))", "read x; echo $((x*2))"}, verdict: Accepted,
			transcript: []string{`manager -> user 2: "3\n"`, `user 1 -> manager: "4\n"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var users []Party
			for _, u := range tc.users {
				users = append(users, hostParty(u))
			}
			tc.o.WallTime = 10 * time.Second // host parties do not enforce it
			res, err := Run(t.Context(), hostParty(tc.interactor), users, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict.Verdict != tc.verdict {
				t.Errorf("verdict %+v, want %s", res.Verdict, tc.verdict)
			}
			if tc.o.Transcript != nil {
				got := tc.o.Transcript.(*bytes.Buffer).String()
				for _, want := range tc.transcript {
					if !strings.Contains(got, want) {
						t.Errorf("transcript has no %s:\n%s", want, got)
					}
				}
				if limit := tc.o.TranscriptLimit; limit > 0 && len(got) > int(limit)+200 {
					t.Errorf("transcript of %d bytes past its limit of %d", len(got), limit)
				}
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	ok := Options{WallTime: time.Second}
	for _, tc := range []struct {
		name  string
		users []Party
		o     Options
		want  string
	}{
		{"no users", nil, ok, ErrNoUsers.Error()},
		{"no wall limit", []Party{hostParty("true")}, Options{}, "needs a wall-time limit"},
		{"two users on stdio", []Party{hostParty("true"), hostParty("true")}, ok, "use fd channels"},
		{"one box twice", []Party{&BoxParty{ID: 1}, &BoxParty{ID: 1}}, Options{WallTime: time.Second, Channels: FDs}, "box 1 is given twice"},
		{"too many users", make([]Party, 40), Options{WallTime: time.Second, Channels: FDs}, "at most 32"},
	} {
		if _, err := Run(t.Context(), hostParty("true"), tc.users, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	if _, err := Run(t.Context(), &BundleParty{Name: "manager", Bundle: "b"}, []Party{hostParty("true")},
		Options{WallTime: time.Second, Channels: FDs}); err == nil || !strings.Contains(err.Error(), "no fd channels") {
		t.Errorf("a bundle manager on fd channels: %v", err)
	}
}
