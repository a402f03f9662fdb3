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

// Command queueproxy compares SSM's queue-proxy (cmd/queue with the plugin
// switched on) with Knative's stock queue-proxy built from the same Knative
// release, both as real processes in front of the same function
// (test/function), in plaintext on queue-proxy's serving port and, for SSM's,
// over mTLS on the plugin's port. bench/queue-proxy.sh builds the binaries
// and runs it in a private network and mount namespace; it refuses to run
// anywhere else, because the processes bind fixed ports on every interface
// and read their pod annotations from /etc/podinfo.
package main
