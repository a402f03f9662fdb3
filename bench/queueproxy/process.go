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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	// podInfoDir is where Knative's queue-proxy options read the pod's
	// annotations (sharedmain.PodInfoAnnotationsPath's directory).
	podInfoDir = "/etc/podinfo"
	// startTimeout bounds how long a process may take to serve.
	startTimeout = 15 * time.Second
	// stopTimeout bounds how long a killed process may take to go.
	stopTimeout = 5 * time.Second
)

// checkPrivateNamespaces refuses to run in the namespaces the script was
// started in (outside, "net:[…] mnt:[…]" as /proc/self/ns shows them) or in a
// network namespace with more than loopback: queue-proxy binds its fixed
// ports on every interface, and the podinfo bind mount must not reach the
// machine's own file system view.
func checkPrivateNamespaces(outside string) error {
	for _, ns := range []string{"net", "mnt"} {
		self, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return fmt.Errorf("reading this process's %s namespace: %w", ns, err)
		}
		if slices.Contains(strings.Fields(outside), self) {
			return fmt.Errorf("running in the %s namespace it was started from (%s); start it with bench/queue-proxy.sh", ns, self)
		}
	}
	if !strings.Contains(outside, "net:[") || !strings.Contains(outside, "mnt:[") {
		return fmt.Errorf("-outside %q: want the starting namespaces, net:[…] and mnt:[…]", outside)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("network interface %s is not loopback; run in a namespace with loopback only", i.Name)
		}
	}
	return nil
}

// mountPodInfo writes the pod's annotations file under dir and binds dir at
// /etc/podinfo, in this process's private mount namespace. The mount point
// is created if missing, as test/podrunner does.
func mountPodInfo(dir string, annotations string) error {
	if err := os.WriteFile(filepath.Join(dir, "annotations"), []byte(annotations), 0o644); err != nil {
		return fmt.Errorf("writing the podinfo annotations: %w", err)
	}
	if err := os.MkdirAll(podInfoDir, 0o755); err != nil {
		return fmt.Errorf("podinfo mount point: %w", err)
	}
	if err := syscall.Mount(dir, podInfoDir, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding %s at %s: %w", dir, podInfoDir, err)
	}
	return nil
}

// process is one child: the function or a queue-proxy.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// start runs bin with env (and nothing inherited), logging to a file in
// logDir. The child is killed if this process dies first.
func start(name, bin string, env []string, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop kills the process group and waits for it to go. SIGKILL rather than
// queue-proxy's graceful SIGTERM, which sleeps 30 s for the endpoints to
// drain: nothing here needs draining.
func (p *process) stop() error {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("%s (pid %d) did not exit %v after SIGKILL", p.name, p.cmd.Process.Pid, stopTimeout)
	}
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail is the end of the process's log, for error messages.
func (p *process) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// waitServing polls url with header until it answers 200 with want in its
// body, the process dies, or startTimeout passes.
func waitServing(ctx context.Context, p *process, client *http.Client, url string, header http.Header, want string) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited while starting; log:\n%s", p.name, p.logTail())
		}
		last = probe(ctx, client, url, header, want)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not serving %s after %v: %w; log:\n%s", p.name, url, startTimeout, last, p.logTail())
}

func probe(ctx context.Context, client *http.Client, url string, header http.Header, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
		return errors.New("answered " + resp.Status + ": " + strings.TrimSpace(string(body)))
	}
	return nil
}
