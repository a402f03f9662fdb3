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

package v1alpha1

import "context"

// SetDefaults leaves the ServerlessPolicy as written. Every unset field means
// "fall through to config-ssm", and config-ssm can change after the policy
// was admitted: defaulting here would freeze today's defaults into the object
// and hide later changes to config-ssm from it. Implements apis.Defaultable.
func (*ServerlessPolicy) SetDefaults(context.Context) {}
