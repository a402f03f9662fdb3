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

package wsframe

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// TestAccept is RFC 6455 section 1.3's worked example, so that a client and
// server both built on Accept cannot agree on a wrong answer.
func TestAccept(t *testing.T) {
	t.Parallel()
	if got, want := Accept(sampleKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("Accept(%q) = %q, want %q", sampleKey, got, want)
	}
}

// TestFrame: RFC 6455 section 5.7's unmasked and masked "Hello", and
// payloads needing 16- and 64-bit lengths, read back as written.
func TestFrame(t *testing.T) {
	t.Parallel()
	if got, want := Frame([]byte("Hello"), nil), []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}; !bytes.Equal(got, want) {
		t.Errorf("unmasked Hello = % x, want % x", got, want)
	}
	masked := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if got := Frame([]byte("Hello"), []byte{0x37, 0xfa, 0x21, 0x3d}); !bytes.Equal(got, masked) {
		t.Errorf("masked Hello = % x, want % x", got, masked)
	}
	for _, payload := range []string{"Hello", strings.Repeat("a", 200), strings.Repeat("b", maxMessage)} {
		got, err := ReadFrame(bufio.NewReader(bytes.NewReader(Frame([]byte(payload), []byte{1, 2, 3, 4}))))
		if err != nil || string(got) != payload {
			t.Errorf("round trip of %d bytes: %d bytes, %v", len(payload), len(got), err)
		}
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(Frame([]byte(strings.Repeat("c", maxMessage+1)), nil)))); err == nil {
		t.Error("a frame over the limit was read")
	}
}
