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

// Package certificates keeps SSM's own CA and the certificates of the pool's
// fixed peers (ssm-pool's serving certificate, the controller's and the
// activator's client certificates) issued and renewed. Pooled proxies'
// certificates are issued per ProxyPool by the proxypool reconciler.
package certificates
