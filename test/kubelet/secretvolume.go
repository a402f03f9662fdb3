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

package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// dataLink is the symlink the kubelet swaps atomically to publish a new
// version of a Secret volume; each key is a symlink through it.
const dataLink = "..data"

// WriteSecretVolume publishes data in dir the way the kubelet does: the
// files of this version in a fresh hidden directory, then the ..data
// symlink swapped to it by rename (so a reader sees the old files or the
// new ones, never a mix), then one symlink per key through ..data. Keys no
// longer in data are removed, and so are earlier versions.
func WriteSecretVolume(dir string, data map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	version, err := os.MkdirTemp(dir, "..v")
	if err != nil {
		return err
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(version, k), v, 0o644); err != nil {
			return err
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataLink:
		case strings.HasPrefix(name, ".."):
			if name != filepath.Base(version) {
				_ = os.RemoveAll(filepath.Join(dir, name))
			}
		default:
			if _, ok := data[name]; !ok {
				_ = os.Remove(filepath.Join(dir, name))
			}
		}
	}
	for k := range data {
		link := filepath.Join(dir, k)
		if fi, err := os.Lstat(link); err == nil {
			if fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
			// A plain file from an earlier writer: replace it by the link.
			_ = os.Remove(link)
		}
		if err := os.Symlink(filepath.Join(dataLink, k), link); err != nil {
			return err
		}
	}
	return nil
}

// SyncSecretVolume keeps dir in step with Secret namespace/name until ctx
// ends, as the kubelet refreshes a mounted Secret: it looks every period
// and publishes a new version when the Secret's resourceVersion differs
// from seen, the version dir holds ("" when it holds none yet). A Secret
// that is gone or unreadable leaves the last version in place.
func SyncSecretVolume(ctx context.Context, kube kubernetes.Interface, namespace, name, dir, seen string, period time.Duration,
	logf func(format string, args ...any)) {
	for {
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && s.ResourceVersion != seen:
			if err := WriteSecretVolume(dir, s.Data); err != nil {
				logf("Secret %s/%s into %s: %v", namespace, name, dir, err)
			} else {
				seen = s.ResourceVersion
			}
		case err != nil && !apierrs.IsNotFound(err) && ctx.Err() == nil:
			logf("reading Secret %s/%s: %v", namespace, name, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(period):
		}
	}
}
