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

// Command gatewayroutes prints, as JSON, the Envoy routes istiod serves to a
// gateway workload for the given hosts: what an ingress gateway would run.
// hack/run.sh uses it to show the route a sample KIngress produced.
//
//	gatewayroutes -xds 10.200.0.1:15010 -namespace istio-system -labels istio=ingressgateway host...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

func main() {
	address := flag.String("xds", "", "istiod's plaintext xDS address, host:port")
	namespace := flag.String("namespace", "istio-system", "the gateway workload's namespace")
	selector := flag.String("labels", "istio=ingressgateway", "the gateway workload's labels, k=v,k=v")
	timeout := flag.Duration("timeout", 10*time.Second, "how long to wait for istiod")
	flag.Parse()
	if *address == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gatewayroutes -xds host:port [-namespace ns] [-labels k=v,...] host...")
		os.Exit(2)
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(*selector, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "gatewayroutes: label %q is not k=v\n", kv)
			os.Exit(2)
		}
		labels[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	configs, err := xdsprobe.FetchRouteConfigurations(ctx, xdsprobe.Options{Address: *address},
		xdsprobe.Workload{Namespace: *namespace, Labels: labels})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatewayroutes: %v\n", err)
		os.Exit(1)
	}
	wanted := map[string]bool{}
	for _, h := range flag.Args() {
		wanted[h] = true
	}
	found := false
	for _, rc := range configs {
		for _, vh := range rc.GetVirtualHosts() {
			for _, d := range vh.GetDomains() {
				if !wanted[d] {
					continue
				}
				found = true
				fmt.Printf("# route configuration %q, virtual host %q\n", rc.GetName(), vh.GetName())
				for _, r := range vh.GetRoutes() {
					printRoute(r)
				}
				break
			}
		}
	}
	if !found {
		fmt.Fprintf(os.Stderr, "gatewayroutes: istiod serves no route for %v to workload %s/%s\n", flag.Args(), *namespace, *selector)
		os.Exit(1)
	}
}

// printRoute prints the parts of a route SSM decides, as JSON. Whole routes
// carry typed extensions (retry predicates, filters) this tool does not link,
// so they are summarised rather than dumped.
func printRoute(r *routev3.Route) {
	a := r.GetRoute()
	clean := &routev3.Route{
		Name:                r.GetName(),
		Match:               r.GetMatch(),
		RequestHeadersToAdd: r.GetRequestHeadersToAdd(),
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: a.GetClusterSpecifier(),
			Timeout:          a.GetTimeout(),
			RetryPolicy: &routev3.RetryPolicy{
				RetryOn:    a.GetRetryPolicy().GetRetryOn(),
				NumRetries: a.GetRetryPolicy().GetNumRetries(),
			},
		}},
	}
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(clean)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatewayroutes: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
