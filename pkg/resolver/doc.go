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

// Package resolver is the one answer to "what does this revision get from
// SSM". It gathers a revision's inputs (its ssm.dev/* annotations, the
// ServerlessPolicy that selects its Knative Service, config-ssm, observed
// execution times, its timeoutSeconds and the class last applied), hands them
// to pkg/policy's pure decision, and says whether SSM governs the revision,
// whether its pods run without a sidecar and whether it may be leased.
//
// Not every component sees every input. The KIngress reconciler and the
// ServerlessPolicy reconciler see them all. What a revision's pods are born
// with (sidecar or not, which pool may lease for them) is decided once, when
// the Revision is admitted, from every input that exists then (a new revision
// has no observation; "auto" starts as config-ssm's auto-initial class), and
// stamped on the Revision (Stamp). Knative copies it onto the revision's
// Deployment and pods, so the Deployment webhook, the activator, ssm-pool, the
// autoscaler hook and the queue-proxy plugin read that one decision
// (StampedPods) instead of re-deriving it from fewer inputs. ssm-pool sees
// no observations; it resolves with the class the controller's routes carry
// as the previous class (read from SSM's DestinationRules), which gives it
// the controller's answer on every field but the derived timeout. That
// timeout, and the queue-proxy plugin's deadline, are never tighter than
// the route's (TestPodSideTimeoutNeverTighter, over every observation), so
// neither can cut a request the gateway lets through.
package resolver
