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

package activator

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// errBodyDetached is what a transport still writing a refused attempt's
// body reads once the body has been handed to the fallback.
var errBodyDetached = errors.New("request body was handed to a fallback attempt")

// replayBody passes a request body through and keeps what was read, up to
// maxReplayBytes, so that a refused attempt can be sent again. The
// underlying body belongs to the server's request: Close leaves it open.
type replayBody struct {
	mu       sync.Mutex
	src      io.ReadCloser
	kept     []byte
	overflow bool
	detached bool
}

func (b *replayBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, errBodyDetached
	}
	n, err := b.src.Read(p)
	if !b.overflow {
		if len(b.kept)+n > maxReplayBytes {
			b.overflow, b.kept = true, nil
		} else {
			b.kept = append(b.kept, p[:n]...)
		}
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }

// detach stops the first attempt from reading and returns the whole body
// again — what was kept, then the rest — or false when too much was read.
func (b *replayBody) detach() (io.ReadCloser, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detached = true
	if b.overflow {
		return nil, false
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(b.kept), b.src)), true
}
