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
	"testing"
)

// chunkedBody is a request body that hands out at most chunk bytes a Read
// and, when eofWithData, returns io.EOF together with its last bytes, as an
// io.Reader may. It records Close, which replayBody must leave to the server.
type chunkedBody struct {
	data        []byte
	chunk       int
	eofWithData bool
	closed      bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data[:min(len(b.data), b.chunk)])
	b.data = b.data[n:]
	if b.eofWithData && len(b.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

func (b *chunkedBody) Close() error {
	b.closed = true
	return nil
}

// readSize turns a plan byte into the size of a Read's buffer: the low five
// bits scaled by a power of four from the top three, so 0 to 31<<14 bytes
// and sizes on both sides of maxReplayBytes.
func readSize(b byte) int { return int(b&31) << (2 * (b >> 5)) }

// FuzzReplayBody reads a body through replayBody the way a refused attempt
// does (buffers sized by plan, until the plan or the body ends), then
// detaches it. What the attempt read is the body's start; detach succeeds
// exactly when the attempt read at most maxReplayBytes; the replay then
// yields the whole body, also when read in odd sizes; the refused attempt
// reads nothing more; and the server's body is never closed.
//
// The body is body followed by extra bytes (extra modulo maxReplayBytes+64),
// so that fuzzed inputs reach the limit; chunk is how much the underlying
// body hands out per Read, 0 meaning all it has.
func FuzzReplayBody(f *testing.F) {
	f.Add([]byte("hello"), uint32(0), uint16(1), false, []byte{})
	f.Add([]byte("hello"), uint32(0), uint16(2), true, []byte{1, 1, 0, 3})
	f.Add([]byte("a body"), uint32(maxReplayBytes-6), uint16(65535), false, []byte{0xff, 0xff}) // exactly the limit
	f.Add([]byte("a body"), uint32(maxReplayBytes-5), uint16(65535), true, []byte{0xff, 0xff})  // one byte over
	f.Add([]byte("a body"), uint32(maxReplayBytes-5), uint16(65535), false, []byte{0xfe, 0x01, 0xff})
	f.Add([]byte{}, uint32(maxReplayBytes+10), uint16(0), false, []byte{0xff}) // one Read past the limit
	f.Add([]byte{}, uint32(maxReplayBytes+10), uint16(0), false, []byte{0xe0 | 16, 0x20})
	f.Add([]byte{}, uint32(0), uint16(7), true, []byte{0, 0, 5})
	// One buffer for every Read: the fuzz function runs one call at a time.
	scratch := make([]byte, readSize(0xff))
	f.Fuzz(func(t *testing.T, body []byte, extra uint32, chunk uint16, eofWithData bool, plan []byte) {
		want := append([]byte{}, body...)
		for i := range int(extra % (maxReplayBytes + 64)) {
			// A running pattern, so a byte read twice or skipped shows.
			want = append(want, byte(i*7+i>>8))
		}
		perRead := int(chunk)
		if perRead == 0 {
			perRead = len(want)
		}
		src := &chunkedBody{data: want, chunk: perRead, eofWithData: eofWithData}
		b := &replayBody{src: src}

		var read []byte
		eof := false
		for _, p := range plan {
			if eof {
				break
			}
			buf := scratch[:readSize(p)]
			n, err := b.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read into %d bytes returned n = %d", len(buf), n)
			}
			read = append(read, buf[:n]...)
			switch {
			case errors.Is(err, io.EOF):
				eof = true
			case err != nil:
				t.Fatalf("Read: %v", err)
			}
		}
		if !bytes.HasPrefix(want, read) {
			t.Fatalf("the attempt read %d bytes that are not the body's first", len(read))
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}

		replay, ok := b.detach()
		if wantOK := len(read) <= maxReplayBytes; ok != wantOK {
			t.Fatalf("after %d bytes read, detach ok = %v, want %v (limit %d)", len(read), ok, wantOK, maxReplayBytes)
		}
		if n, err := b.Read(make([]byte, 1)); n != 0 || !errors.Is(err, errBodyDetached) {
			t.Errorf("Read after detach = %d, %v; want 0, %v", n, err, errBodyDetached)
		}
		if ok {
			got, err := readInSizes(replay, plan, scratch)
			if err != nil {
				t.Fatalf("reading the replay: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("replayed %d bytes, want the whole body of %d (first difference at %d)",
					len(got), len(want), firstDifference(got, want))
			}
			if err := replay.Close(); err != nil {
				t.Errorf("closing the replay: %v", err)
			}
		}
		if src.closed {
			t.Error("the server's request body was closed")
		}
	})
}

// readInSizes reads r to its end into scratch, as much a Read as plan says,
// in turn, then 512 bytes.
func readInSizes(r io.Reader, plan, scratch []byte) ([]byte, error) {
	var got []byte
	for i := 0; ; i++ {
		size := 512
		if i < len(plan) {
			size = readSize(plan[i])
		}
		buf := scratch[:size]
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if i > len(plan)+len(got)+1024 {
			return got, errors.New("no progress: too many empty reads")
		}
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
