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

// Command podrunner is the local cluster's kubelet stand-in (hack/cluster.sh,
// SSM_DATAPLANE=1): it runs the pods labelled ssm.dev/local-run=true that are
// scheduled to the fake KWOK node for real, each container as a process in a
// network namespace at the pod's IP, and reports their status and readiness
// as a kubelet would. It is a test fixture and never ships.
package main
