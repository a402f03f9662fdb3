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

package kubelet

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Path is the PATH every container gets: the tools that start it (ip,
// unshare, sh) live there.
const Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env is c's environment as the kubelet gives it: PATH and HOSTNAME, then
// the spec's variables in order, values with $(VAR) references to earlier
// ones expanded, fieldRef and resourceFieldRef resolved. A variable it
// cannot resolve is left empty and named in problems; the caller decides
// whether that is fatal.
func Env(pod *corev1.Pod, c *corev1.Container, podIP, hostIP string) (env []string, problems []error) {
	env = []string{"PATH=" + Path, "HOSTNAME=" + pod.Name}
	vars := map[string]string{}
	for _, e := range c.Env {
		v, err := value(pod, c, e, podIP, hostIP, vars)
		if err != nil {
			problems = append(problems, fmt.Errorf("pod %s/%s: container %s: env %s: %w", pod.Namespace, pod.Name, c.Name, e.Name, err))
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env, problems
}

func value(pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar, podIP, hostIP string, vars map[string]string) (string, error) {
	switch {
	case e.ValueFrom == nil:
		return Expand(e.Value, vars), nil
	case e.ValueFrom.FieldRef != nil:
		switch path := e.ValueFrom.FieldRef.FieldPath; path {
		case "metadata.name":
			return pod.Name, nil
		case "metadata.namespace":
			return pod.Namespace, nil
		case "metadata.uid":
			return string(pod.UID), nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		case "spec.nodeName":
			return pod.Spec.NodeName, nil
		case "status.podIP", "status.podIPs":
			return podIP, nil
		case "status.hostIP", "status.hostIPs":
			return hostIP, nil
		default:
			return "", fmt.Errorf("fieldRef %s is not supported; left empty", path)
		}
	case e.ValueFrom.ResourceFieldRef != nil:
		return resourceValue(c, e.ValueFrom.ResourceFieldRef.Resource), nil
	default:
		return "", fmt.Errorf("only values, fieldRef and resourceFieldRef are supported; left empty")
	}
}

// resourceValue is a resourceFieldRef's value with divisor 1: the limit if
// set, else the request, else the node's (made-up) capacity: 2 CPUs, 4 GiB.
func resourceValue(c *corev1.Container, resource string) string {
	name := corev1.ResourceName(strings.TrimPrefix(strings.TrimPrefix(resource, "limits."), "requests."))
	q, ok := c.Resources.Limits[name]
	if !ok || strings.HasPrefix(resource, "requests.") {
		q, ok = c.Resources.Requests[name]
	}
	if ok {
		if name == corev1.ResourceCPU {
			return strconv.FormatInt(q.MilliValue()/1000+min(1, q.MilliValue()%1000), 10)
		}
		return strconv.FormatInt(q.Value(), 10)
	}
	if name == corev1.ResourceCPU {
		return "2"
	}
	return strconv.FormatInt(4<<30, 10)
}

// Expand replaces $(VAR) with the value of an earlier variable, keeps an
// unknown reference as it is and turns $$ into $, as Kubernetes does for
// env values, command and args.
func Expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
