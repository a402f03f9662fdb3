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
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// hostsWriter stands in for cluster DNS: it appends every Service's names
// and ClusterIP to the hosts files of the given network namespaces
// (/etc/netns/NS/hosts, which ip netns exec bind-mounts over /etc/hosts),
// keeping the lines hack/cluster.sh wrote first. Files are rewritten in
// place so that the inode, and so the bind mount, stays the same; resolvers
// re-read /etc/hosts when it changes.
type hostsWriter struct {
	mu       sync.Mutex
	lister   cache.Store
	files    map[string][]byte // path → the lines that were there before us
	lastText map[string]string
}

func newHostsWriter(netns []string, lister cache.Store) (*hostsWriter, error) {
	h := &hostsWriter{lister: lister, files: map[string][]byte{}, lastText: map[string]string{}}
	for _, ns := range netns {
		path := filepath.Join("/etc/netns", ns, "hosts")
		base, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("hosts of network namespace %s: %w", ns, err)
		}
		h.files[path] = base
	}
	return h, nil
}

// sync rewrites every file from the Services now known.
func (h *hostsWriter) sync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for _, obj := range h.lister.List() {
		svc, ok := obj.(*corev1.Service)
		if !ok || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		fqdn := svc.Name + "." + svc.Namespace + ".svc"
		lines = append(lines, fmt.Sprintf("%s %s.cluster.local %s %s.%s", svc.Spec.ClusterIP, fqdn, fqdn, svc.Name, svc.Namespace))
	}
	sort.Strings(lines)
	for path, base := range h.files {
		known := namesIn(base)
		var b bytes.Buffer
		b.Write(base)
		b.WriteString("# Services (test/podrunner)\n")
		for _, l := range lines {
			// Names cluster.sh mapped to a component directly keep that.
			if known[strings.Fields(l)[1]] {
				continue
			}
			b.WriteString(l + "\n")
		}
		if h.lastText[path] == b.String() {
			continue
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			log.Printf("hosts %s: %v", path, err)
			continue
		}
		h.lastText[path] = b.String()
	}
}

// restore puts the files back as they were.
func (h *hostsWriter) restore() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for path, base := range h.files {
		if err := os.WriteFile(path, base, 0o644); err != nil {
			log.Printf("hosts %s: restoring: %v", path, err)
		}
	}
}

func namesIn(hosts []byte) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(string(hosts), "\n") {
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			names[f[i]] = true
		}
	}
	return names
}
