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
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// allocator hands out pod addresses from a /24-or-smaller prefix; the
// prefix's first address is the gateway (the bridge's). It goes round the
// prefix rather than reusing the lowest free address, so that a new pod
// does not inherit neighbour and conntrack entries of the one just gone.
type allocator struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]bool
	last   netip.Addr
}

func newAllocator(p netip.Prefix) *allocator {
	return &allocator{prefix: p, used: map[netip.Addr]bool{}, last: p.Addr().Next()}
}

func (a *allocator) gateway() netip.Addr { return a.prefix.Addr().Next() }

// usable: not the network, the gateway or the broadcast address.
func (a *allocator) usable(ip netip.Addr) bool {
	return a.prefix.Contains(ip) && a.prefix.Contains(ip.Next()) && ip.Compare(a.gateway()) > 0
}

func (a *allocator) allocate() (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	size := 1 << (32 - a.prefix.Bits())
	ip := a.last
	for range size {
		ip = ip.Next()
		if !a.usable(ip) {
			ip = a.gateway().Next()
		}
		if !a.used[ip] {
			a.used[ip] = true
			a.last = ip
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s is exhausted", a.prefix)
}

func (a *allocator) release(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, ip)
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// createNetns makes network namespace name with eth0 at ip/bits, a veth peer
// on bridge (in the runner's own namespace, the hub) and a default route via
// gw, and writes its hosts file (there is no cluster DNS).
func createNetns(name, bridge string, ip, gw netip.Addr, bits int, hostname string) error {
	veth := "v" + strings.TrimPrefix(name, "pod-")
	steps := [][]string{
		{"netns", "add", name},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"link", "set", veth, "master", bridge, "up"},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "addr", "add", fmt.Sprintf("%s/%d", ip, bits), "dev", "eth0"},
		{"-n", name, "link", "set", "eth0", "up"},
		{"-n", name, "route", "add", "default", "via", gw.String()},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return fmt.Errorf("network namespace %s: %w", name, err)
		}
	}
	dir := filepath.Join("/etc/netns", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	hosts := fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", ip, hostname)
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return fmt.Errorf("network namespace %s: hosts: %w", name, err)
	}
	return nil
}

// removeNetns removes the namespace (which takes its veth pair with it),
// the hub's neighbour entry for ip and its hosts file; parts already gone are not an error.
func removeNetns(name, bridge string, ip netip.Addr) error {
	var errs []string
	if ip.IsValid() {
		// The hub's neighbour entry for the address would point at a gone
		// veth for tens of seconds.
		_ = ipCmd("neigh", "flush", "to", ip.String(), "dev", bridge)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
		if err := ipCmd("netns", "delete", name); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := os.RemoveAll(filepath.Join("/etc/netns", name)); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing network namespace %s: %s", name, strings.Join(errs, "; "))
	}
	return nil
}
