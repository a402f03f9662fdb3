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

package identity

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	corev1listers "k8s.io/client-go/listers/core/v1"
)

// CertSource hands out the current certificate and trust bundle. The TLS
// configs call it on every handshake, so a rotated Secret takes effect on the
// next connection without a restart.
type CertSource interface {
	// Certificate is this process's own certificate and key.
	Certificate() (*tls.Certificate, error)
	// Bundle holds the CA certificates peers are verified against.
	Bundle() (*x509.CertPool, error)
}

var (
	_ CertSource = (*FileSource)(nil)
	_ CertSource = (*SecretSource)(nil)
)

// material is one parsed generation of a Secret's contents.
type material struct {
	cert   *tls.Certificate
	bundle *x509.CertPool
}

func parseMaterial(certPEM, keyPEM, caPEM []byte) (*material, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", TLSCertKey, TLSKeyKey, err)
	}
	bundle := x509.NewCertPool()
	if !bundle.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no PEM certificate found", CACertKey)
	}
	return &material{cert: &cert, bundle: bundle}, nil
}

// FileSource reads tls.crt, tls.key and ca.crt from a directory, normally a
// mounted leaf Secret. It re-parses only when the files change.
type FileSource struct {
	dir string

	mu       sync.Mutex
	stamp    dirStamp
	material *material
}

// NewFileSource reads from dir; nothing is read until the first handshake.
func NewFileSource(dir string) *FileSource {
	return &FileSource{dir: dir}
}

// Certificate implements CertSource.
func (s *FileSource) Certificate() (*tls.Certificate, error) {
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	return m.cert, nil
}

// Bundle implements CertSource.
func (s *FileSource) Bundle() (*x509.CertPool, error) {
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	return m.bundle, nil
}

// kubeletDataLink is the symlink the kubelet swaps atomically to publish a
// new version of a Secret volume; the files are symlinks through it.
const kubeletDataLink = "..data"

// maxReadAttempts bounds re-reads while the files change under us.
const maxReadAttempts = 3

// dirStamp identifies one version of the files: the target of the kubelet's
// ..data link (a fresh directory per Secret version) plus each file's
// modification time and size, for directories that are rewritten in place.
type dirStamp struct {
	dataLink string
	files    [3]fileStamp
}

type fileStamp struct {
	modNanos int64
	size     int64
}

// sourceKeys are the file names (and Secret keys) a source reads, in the
// order parseMaterial takes them.
func sourceKeys() [3]string { return [3]string{TLSCertKey, TLSKeyKey, CACertKey} }

func (s *FileSource) load() (*material, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range maxReadAttempts {
		before, err := s.statFiles()
		if err != nil {
			return nil, err
		}
		if s.material != nil && before == s.stamp {
			return s.material, nil
		}
		m, readErr := s.readFiles()
		after, err := s.statFiles()
		if err != nil {
			return nil, err
		}
		if after != before {
			continue // the kubelet published a new version mid-read
		}
		if readErr != nil {
			return nil, readErr
		}
		s.stamp, s.material = before, m
		return m, nil
	}
	return nil, fmt.Errorf("certificate files in %s changed during each of %d reads", s.dir, maxReadAttempts)
}

func (s *FileSource) statFiles() (dirStamp, error) {
	var stamp dirStamp
	// No ..data link just means the directory is not a Secret volume.
	stamp.dataLink, _ = os.Readlink(filepath.Join(s.dir, kubeletDataLink))
	for i, name := range sourceKeys() {
		info, err := os.Stat(filepath.Join(s.dir, name))
		if err != nil {
			return dirStamp{}, fmt.Errorf("certificate file: %w", err)
		}
		stamp.files[i] = fileStamp{modNanos: info.ModTime().UnixNano(), size: info.Size()}
	}
	return stamp, nil
}

func (s *FileSource) readFiles() (*material, error) {
	var contents [3][]byte
	for i, name := range sourceKeys() {
		data, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			return nil, fmt.Errorf("certificate file: %w", err)
		}
		contents[i] = data
	}
	m, err := parseMaterial(contents[0], contents[1], contents[2])
	if err != nil {
		return nil, fmt.Errorf("certificate files in %s: %w", s.dir, err)
	}
	return m, nil
}

// SecretSource reads a leaf Secret through a SecretLister, for processes
// that watch the Secret rather than mount it. It re-parses only when the
// Secret's contents change.
type SecretSource struct {
	lister    corev1listers.SecretLister
	namespace string
	name      string

	mu       sync.Mutex
	raw      [3][]byte
	material *material
}

// NewSecretSource reads the Secret namespace/name from lister.
func NewSecretSource(lister corev1listers.SecretLister, namespace, name string) *SecretSource {
	return &SecretSource{lister: lister, namespace: namespace, name: name}
}

// Certificate implements CertSource.
func (s *SecretSource) Certificate() (*tls.Certificate, error) {
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	return m.cert, nil
}

// Bundle implements CertSource.
func (s *SecretSource) Bundle() (*x509.CertPool, error) {
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	return m.bundle, nil
}

func (s *SecretSource) load() (*material, error) {
	secret, err := s.lister.Secrets(s.namespace).Get(s.name)
	if err != nil {
		return nil, fmt.Errorf("getting Secret %s/%s: %w", s.namespace, s.name, err)
	}
	var raw [3][]byte
	for i, key := range sourceKeys() {
		raw[i] = secret.Data[key]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.material != nil && sameContents(raw, s.raw) {
		return s.material, nil
	}
	m, err := parseMaterial(raw[0], raw[1], raw[2])
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: %w", s.namespace, s.name, err)
	}
	s.raw, s.material = raw, m
	return m, nil
}

func sameContents(a, b [3][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
