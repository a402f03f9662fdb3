/*
Copyright 2026 The SSM Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one container, run as a process group in the pod's network
// namespace.
type process struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	started time.Time
}

// mount is a directory bind-mounted into the container's view of the file
// system, as the kubelet mounts volumes.
type mount struct{ source, target string }

// startProcess runs bin in netns with env, logging to logPath. With mounts,
// the process gets a private mount namespace (unshare -m) in which each
// source is bound at its target, so the host's file system is not touched
// beyond creating missing (empty) target directories.
func startProcess(name, netns, bin string, env []string, mounts []mount, logPath string) (*process, error) {
	args := []string{"netns", "exec", netns}
	if len(mounts) > 0 {
		var script strings.Builder
		for i := range mounts {
			// Positional parameters keep paths out of the shell's parser.
			fmt.Fprintf(&script, "mkdir -p \"$%d\" && mount --bind \"$%d\" \"$%d\" && ", 2*i+2, 2*i+1, 2*i+2)
		}
		fmt.Fprintf(&script, "shift %d && exec \"$@\"", 2*len(mounts))
		args = append(args, "unshare", "-m", "--propagation", "private", "sh", "-c", script.String(), "sh")
		for _, m := range mounts {
			args = append(args, m.source, m.target)
		}
	}
	args = append(args, bin)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("container %s: log: %w", name, err)
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("container %s: start %s: %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), started: time.Now()}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group and SIGKILL after killAfter.
func (p *process) stop(killAfter time.Duration) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(killAfter):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}
