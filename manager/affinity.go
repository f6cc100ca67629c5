package manager

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/mini-isolate/mini-isolate/box"
)

// pinCPU is the CPU manager_cpu asks for, or -1 for none: auto picks the
// last of those the manager may use, unless boxes are pinned (boxN.cpus):
// then where the manager runs is the administrator's to say.
func pinCPU(setting int, boxesPinned bool) (int, error) {
	switch {
	case setting == box.ManagerCPUNone, setting == box.ManagerCPUAuto && boxesPinned:
		return -1, nil
	case setting >= 0:
		return setting, nil
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return -1, fmt.Errorf("manager_cpu: %w", err)
	}
	if set.Count() < 2 {
		return -1, nil // nothing to choose
	}
	for cpu := len(set)*64 - 1; cpu >= 0; cpu-- {
		if set.IsSet(cpu) {
			return cpu, nil
		}
	}
	return -1, nil
}

// pinThreads keeps every thread of this process on cpu: those it has,
// and so those they start, which inherit it. A thread started during a
// pass is caught by the next.
func pinThreads(cpu int) error {
	var want unix.CPUSet
	want.Set(cpu)
	for pass := 0; pass < 10; pass++ {
		tids, err := threads()
		if err != nil {
			return err
		}
		moved := false
		for _, tid := range tids {
			var cur unix.CPUSet
			err := unix.SchedGetaffinity(tid, &cur)
			switch {
			case errors.Is(err, unix.ESRCH) || err == nil && cur == want:
				continue // gone, or done
			case err != nil:
				return fmt.Errorf("manager_cpu %d: thread %d: %w", cpu, tid, err)
			}
			err = unix.SchedSetaffinity(tid, &want)
			switch {
			case errors.Is(err, unix.EINVAL):
				return fmt.Errorf("manager_cpu %d: not a CPU this manager may run on", cpu)
			case err != nil && !errors.Is(err, unix.ESRCH):
				return fmt.Errorf("manager_cpu %d: %w", cpu, err)
			}
			moved = true
		}
		if !moved {
			return nil
		}
	}
	return fmt.Errorf("manager_cpu %d: threads kept starting unpinned", cpu)
}

// threads lists this process's threads.
func threads() ([]int, error) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
