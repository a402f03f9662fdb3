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

// Command queue is Knative's queue-proxy with SSM's plugin, which the pod
// switches on with qpoption.knative.dev/ssm-activate: enable.
package main

import (
	"os"

	"go.uber.org/zap"
	"knative.dev/serving/pkg/queue/sharedmain"

	"github.com/serverless-mesh/ssm/pkg/queue"
)

func main() {
	if err := sharedmain.Main(ssmOption); err != nil {
		os.Exit(1)
	}
}

// ssmOption installs the plugin around queue-proxy's innermost handler. It
// runs after sharedmain has parsed the environment, built the logger and set
// the OTel meter provider the plugin records to.
func ssmOption(d *sharedmain.Defaults) {
	opts, err := queue.OptionsFromEnv(os.Getenv)
	if err != nil {
		// sharedmain has already parsed the same variables and would have
		// stopped on them; reaching here means they changed meaning.
		d.Logger.Fatalw("SSM plugin: reading the environment", zap.Error(err))
	}
	opts.AnnotationsPath = sharedmain.PodInfoAnnotationsPath
	plugin := queue.Activate(d.Ctx, d.Logger, d.Env.ServingNamespace, opts, d.ProxyHandler)
	d.ProxyHandler = plugin.Handler
}
