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

package config

// These DeepCopy methods are written by hand: the package has no deepcopy-gen
// run and the types are small. Keep them in step with types.go when a field
// with a pointer, slice or map is added.

// DeepCopy returns a copy of g sharing no memory with it.
func (g Gateway) DeepCopy() Gateway {
	out := g
	out.LabelSelector = g.LabelSelector.DeepCopy()
	return out
}

func copyGateways(in []Gateway) []Gateway {
	if in == nil {
		return nil
	}
	out := make([]Gateway, len(in))
	for i, g := range in {
		out[i] = g.DeepCopy()
	}
	return out
}

// DeepCopy returns a copy of s sharing no memory with it. policy.Defaults
// holds only values, so assigning it copies it.
func (s *SSM) DeepCopy() *SSM {
	if s == nil {
		return nil
	}
	out := *s
	out.IngressGateways = copyGateways(s.IngressGateways)
	out.LocalGateways = copyGateways(s.LocalGateways)
	return &out
}

// DeepCopy returns a copy of c sharing no memory with it.
func (c *Config) DeepCopy() *Config {
	if c == nil {
		return nil
	}
	return &Config{
		SSM:     c.SSM.DeepCopy(),
		Network: c.Network.DeepCopy(),
	}
}
