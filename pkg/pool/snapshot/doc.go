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

// Package snapshot translates a revision's configuration into the xDS
// resources one pooled Envoy receives: a health listener every warm proxy has,
// plus the listener, route, cluster and endpoints of the revision it is leased
// to, versioned per type by content so unchanged types are never re-sent.
package snapshot
