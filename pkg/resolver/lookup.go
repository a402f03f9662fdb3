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

package resolver

import (
	"fmt"
	"time"

	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
)

// Lookup finds the ServerlessPolicy of a revision in informer caches.
type Lookup struct {
	Services servinglisters.ServiceLister
	Policies ssmlisters.ServerlessPolicyLister
}

// PolicyFor returns the ServerlessPolicy that selects the Knative Service
// owning a revision with these labels in namespace, nil when none does (a
// revision of a bare Configuration has no Service to select). Errors are the
// caches', never the user's.
func (l Lookup) PolicyFor(namespace string, revisionLabels map[string]string) (*v1alpha1.ServerlessPolicy, error) {
	svcName := revisionLabels[serving.ServiceLabelKey]
	if svcName == "" {
		return nil, nil
	}
	svc, err := l.Services.Services(namespace).Get(svcName)
	if apierrs.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("getting service %s/%s: %w", namespace, svcName, err)
	}
	policies, err := l.Policies.ServerlessPolicies(namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing ServerlessPolicies in %s: %w", namespace, err)
	}
	selected, _ := Select(policies, svc.Labels)
	return selected, nil
}

// RevisionTimeout is a revision's timeoutSeconds, 0 when unset.
func RevisionTimeout(rev *servingv1.Revision) time.Duration {
	if rev.Spec.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*rev.Spec.TimeoutSeconds) * time.Second
}
