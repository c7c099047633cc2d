package livepatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Task is a thread that has not reached a transition's target state.
type Task struct {
	PID   int    // thread group ID, the process
	TID   int    // thread ID
	Comm  string // command name from /proc/PID/task/TID/comm
	State int    // the thread's patch_state
	Stack string // kernel stack from /proc/PID/task/TID/stack; empty when unreadable
}

// pendingTasks returns the threads whose patch_state is neither target nor
// undefined. Threads that exit while it reads are skipped. With stacks set,
// it also reads each pending thread's kernel stack.
func (s *system) pendingTasks(target int, stacks bool) ([]Task, error) {
	processes, err := os.ReadDir(s.procfs)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}

	var pending []Task
	for _, process := range processes {
		pid, err := strconv.Atoi(process.Name())
		if err != nil {
			continue // not a process directory
		}
		pending = append(pending, s.pendingThreads(pid, target, stacks)...)
	}
	return pending, nil
}

func (s *system) pendingThreads(pid, target int, stacks bool) []Task {
	taskDir := filepath.Join(s.procfs, strconv.Itoa(pid), "task")
	threads, err := os.ReadDir(taskDir)
	if err != nil {
		return nil // the process exited
	}

	var pending []Task
	for _, thread := range threads {
		tid, err := strconv.Atoi(thread.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(taskDir, thread.Name())
		state, err := readInt(filepath.Join(dir, procPatchState))
		if err != nil || state == target || state == patchStateUndefined {
			continue
		}

		task := Task{PID: pid, TID: tid, State: state, Comm: readTrimmed(filepath.Join(dir, "comm"))}
		if stacks {
			task.Stack = readTrimmed(filepath.Join(dir, "stack"))
		}
		pending = append(pending, task)
	}
	return pending
}

func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// stateName returns the word for a patch_state value.
func stateName(state int) string {
	switch state {
	case patchStatePatched:
		return "patched"
	case patchStateUnpatched:
		return "unpatched"
	}
	return "undefined"
}
