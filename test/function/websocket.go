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
	"net/http"
	"strings"
	"time"

	"github.com/serverless-mesh/ssm/test/wsframe"
)

// serveWebsocket takes the upgrade, reads one text message (masked, as
// every client frame is), echoes it unmasked, counts the id and closes.
// Just enough of RFC 6455 for a test to see an upgrade carried end to end.
func serveWebsocket(w http.ResponseWriter, r *http.Request, served *servedIDs) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want a websocket upgrade", http.StatusBadRequest)
		return
	}
	conn, rw, err := wsframe.Upgrade(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	msg, err := wsframe.ReadFrame(rw.Reader)
	if err != nil {
		return
	}
	served.add(r.URL.Query().Get("id"))
	_, _ = conn.Write(wsframe.Frame(msg, nil))
}
