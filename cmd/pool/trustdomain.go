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
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

// servingTrustDomain is the trust domain of ssm-pool's own serving
// certificate, which SSM's controller issues: the controller is the one
// place the trust domain is set, and ssm-pool expects every peer (pooled
// proxies, lease clients) and every revision pod in it. It waits for the
// certificate, which the controller may not have written yet, until ctx
// ends; without it ssm-pool could not serve anyway.
func servingTrustDomain(ctx context.Context, kube kubernetes.Interface, namespace, name string, logger *zap.SugaredLogger) (string, error) {
	var trustDomain string
	logged := false
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if !logged {
				logged = true
				logger.Infow("Waiting for the serving certificate, whose identity names the trust domain",
					zap.String("secret", namespace+"/"+name), zap.Error(err))
			}
			return false, nil
		}
		id, err := identity.IDOfCertificatePEM(secret.Data[identity.TLSCertKey])
		if err != nil {
			return false, fmt.Errorf("serving certificate %s/%s: %w", namespace, name, err)
		}
		trustDomain = id.TrustDomain
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("trust domain from the serving certificate %s/%s: %w", namespace, name, err)
	}
	logger.Infow("Trust domain from the serving certificate", zap.String("trustDomain", trustDomain))
	return trustDomain, nil
}
