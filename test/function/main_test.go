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
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	h := handler("fn-00001")
	get := func(target string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		body, err := io.ReadAll(rec.Result().Body)
		if err != nil {
			t.Fatalf("GET %s: reading the body: %v", target, err)
		}
		return rec.Code, string(body)
	}
	// In order: the counts of /served depend on the requests before them.
	steps := []struct {
		target   string
		wantCode int
		wantBody string
	}{
		{"/", http.StatusOK, "hello from fn-00001"},
		{"/?id=a-1", http.StatusOK, "hello from fn-00001 id a-1"},
		{"/?id=a-2", http.StatusOK, "hello from fn-00001 id a-2"},
		{"/?id=a-1", http.StatusOK, "hello from fn-00001 id a-1"},
		{"/?id=b-1", http.StatusOK, "hello from fn-00001 id b-1"},
		{"/sleep?d=1ms", http.StatusOK, "hello from fn-00001"},
		{"/sleep?d=soon", http.StatusBadRequest, "d must be a duration such as 200ms\n"},
		{"/served?prefix=a-", http.StatusOK, `{"a-1":2,"a-2":1}` + "\n"},
		{"/served?prefix=b-", http.StatusOK, `{"b-1":1}` + "\n"},
		{"/served?prefix=c-", http.StatusOK, "{}\n"},
		{"/served", http.StatusOK, `{"a-1":2,"a-2":1,"b-1":1}` + "\n"},
	}
	for _, s := range steps {
		code, body := get(s.target)
		if code != s.wantCode || body != s.wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", s.target, code, body, s.wantCode, s.wantBody)
		}
	}
}
