// Command ocicheck reads what an OCI runtime printed or wrote the way
// containerd's runc shim, go-runc, Docker and Podman read it, and fails
// where they would. hack/orchestrators uses it on the output of calls the
// orchestrators made, with the flags the traces show.
//
//	ocicheck pidfile FILE        go-runc: strconv.Atoi of the whole file
//	ocicheck state < JSON        podman: the state fields and status values
//	ocicheck pids < JSON         the shim's `ps --format json`: an array of pids
//	ocicheck features < JSON     runtime-spec features, as containerd 2 decodes it
//	ocicheck shimlog FILE        the shim's getLastRuntimeError: last "error" entry
//	ocicheck podmanlog FILE      podman: the whole file as one {level,msg,time}
//	ocicheck get PATH < JSON     the value at PATH (keys joined by '/')
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ocicheck pidfile|state|pids|features|shimlog|podmanlog|get ...")
		os.Exit(2)
	}
	out, err := check(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ocicheck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if out != "" {
		fmt.Println(out)
	}
}

func check(what string, args []string) (string, error) {
	arg := func() (string, error) {
		if len(args) != 1 {
			return "", errors.New("want one argument")
		}
		return args[0], nil
	}
	switch what {
	case "pidfile":
		file, err := arg()
		if err != nil {
			return "", err
		}
		return pidFile(file)
	case "state":
		return state(os.Stdin)
	case "pids":
		return pids(os.Stdin)
	case "features":
		return feats(os.Stdin)
	case "shimlog":
		file, err := arg()
		if err != nil {
			return "", err
		}
		return shimLog(file)
	case "podmanlog":
		file, err := arg()
		if err != nil {
			return "", err
		}
		return podmanLog(file)
	case "get":
		path, err := arg()
		if err != nil {
			return "", err
		}
		return get(os.Stdin, path)
	}
	return "", fmt.Errorf("unknown check %q", what)
}

// pidFile reads a pid file as go-runc's ReadPidFile does, and conmon's atoi
// would: the decimal pid and nothing else.
func pidFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		return "", fmt.Errorf("content %q: %w", data, err)
	}
	if pid <= 0 {
		return "", fmt.Errorf("pid %d", pid)
	}
	return strconv.Itoa(pid), nil
}

// state checks `state ID` output as podman reads it (pid and status, with
// only the four statuses it knows) and the other OCI and runc fields.
func state(r io.Reader) (string, error) {
	var s struct {
		OCIVersion  string            `json:"ociVersion"`
		ID          string            `json:"id"`
		Pid         *int              `json:"pid"`
		Status      string            `json:"status"`
		Bundle      string            `json:"bundle"`
		Rootfs      string            `json:"rootfs"`
		Created     time.Time         `json:"created"`
		Annotations map[string]string `json:"annotations"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return "", err
	}
	switch {
	case s.OCIVersion == "":
		return "", errors.New("no ociVersion")
	case s.ID == "":
		return "", errors.New("no id")
	case s.Pid == nil:
		return "", errors.New("no pid")
	case s.Bundle == "":
		return "", errors.New("no bundle")
	case s.Created.IsZero():
		return "", errors.New("no created time")
	}
	switch s.Status {
	case "created", "running", "paused":
		if *s.Pid <= 0 {
			return "", fmt.Errorf("status %s with pid %d", s.Status, *s.Pid)
		}
	case "stopped":
	default:
		return "", fmt.Errorf("status %q: podman knows created, running, paused and stopped", s.Status)
	}
	return fmt.Sprintf("%s %d", s.Status, *s.Pid), nil
}

func pids(r io.Reader) (string, error) {
	var ps []int
	if err := json.NewDecoder(r).Decode(&ps); err != nil {
		return "", err
	}
	if len(ps) == 0 {
		return "", errors.New("no pids")
	}
	for _, p := range ps {
		if p <= 0 {
			return "", fmt.Errorf("pid %d", p)
		}
	}
	return strconv.Itoa(len(ps)), nil
}

// feats decodes `features` and prints what containerd 2 and Docker 25 look
// at: the OCI versions, rro among the mount options, user namespaces and
// idmapped mounts.
func feats(r io.Reader) (string, error) {
	var f features.Features
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return "", err
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		return "", errors.New("no ociVersionMin or ociVersionMax")
	}
	rro := false
	for _, o := range f.MountOptions {
		rro = rro || o == "rro"
	}
	userns, idmap := false, false
	if f.Linux != nil {
		for _, ns := range f.Linux.Namespaces {
			userns = userns || ns == "user"
		}
		if m := f.Linux.MountExtensions; m != nil && m.IDMap != nil && m.IDMap.Enabled != nil {
			idmap = *m.IDMap.Enabled
		}
	}
	return fmt.Sprintf("oci %s..%s rro=%t userns=%t idmap=%t", f.OCIVersionMin, f.OCIVersionMax, rro, userns, idmap), nil
}

// shimLog is containerd's getLastRuntimeError: the --log file as a stream
// of JSON objects, the last one at level "error" wins, and a time that is
// not RFC 3339 spoils the lot.
func shimLog(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var last string
	dec := json.NewDecoder(f)
	for {
		var e struct {
			Level string
			Msg   string
			Time  time.Time
		}
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if e.Level == "error" {
			last = e.Msg
		}
	}
	if last == "" {
		return "", errors.New("no error entry")
	}
	return last, nil
}

// podmanLog is podman's reading of the oci-log: exactly one JSON object.
func podmanLog(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var e struct {
		Level string `json:"level"`
		Time  string `json:"time"`
		Msg   string `json:"msg"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return "", fmt.Errorf("%d lines: %w", strings.Count(strings.TrimSpace(string(data)), "\n")+1, err)
	}
	if e.Msg == "" {
		return "", errors.New("no msg")
	}
	return e.Msg, nil
}

func get(r io.Reader, path string) (string, error) {
	var v any
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return "", err
	}
	for _, key := range strings.Split(strings.Trim(path, "/"), "/") {
		if key == "" {
			continue
		}
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[key]; !ok {
				return "", fmt.Errorf("no %q", key)
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(t) {
				return "", fmt.Errorf("no element %q", key)
			}
			v = t[i]
		default:
			return "", fmt.Errorf("no %q in a %T", key, v)
		}
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	data, err := json.Marshal(v)
	return string(data), err
}
