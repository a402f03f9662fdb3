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

package policy

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"knative.dev/pkg/apis"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// knownAnnotationKeys are the ssm.dev/* annotations a revision may carry, in
// the order errors about them are reported.
func knownAnnotationKeys() []string {
	return []string{
		ssm.LifecycleAnnotationKey,
		ssm.TimeoutAnnotationKey,
		ssm.RetriesAnnotationKey,
		ssm.MTLSModeAnnotationKey,
		ssm.ProxyPoolAnnotationKey,
	}
}

// annotationPath is the field path of one annotation, rooted at the object.
// It is built as a string rather than with ViaFieldKey because FieldError
// splits path segments on '.', which would cut "ssm.dev/..." in two.
func annotationPath(key string) string {
	return "metadata.annotations[" + key + "]"
}

// HasSSMAnnotations reports whether any annotation key has the ssm.dev/
// prefix, known or not: such an object asks for SSM and must be validated.
func HasSSMAnnotations(annotations map[string]string) bool {
	for k := range annotations {
		if strings.HasPrefix(k, ssm.AnnotationPrefix) {
			return true
		}
	}
	return false
}

// ParseAnnotations reads the ssm.dev/* annotations of a revision (or of the
// Service/Configuration template it comes from). Other annotations are
// ignored; an unknown ssm.dev/ key is rejected, because a typo such as
// "ssm.dev/lifecyle" would otherwise be silently dropped.
//
// Every problem is reported, not just the first. Error paths are rooted at
// the object ("metadata.annotations[ssm.dev/timeout]"), so callers must not
// add ViaField("metadata") themselves. On error the returned Overrides hold
// the annotations that did parse, but callers should not use them.
func ParseAnnotations(annotations map[string]string) (Overrides, *apis.FieldError) {
	var (
		o    Overrides
		errs *apis.FieldError
	)
	known := knownAnnotationKeys()
	for _, key := range known {
		v, ok := annotations[key]
		if !ok {
			continue
		}
		errs = errs.Also(parseAnnotation(&o, key, v))
	}
	errs = errs.Also(unknownAnnotations(annotations, known))
	if o.MTLSMode != nil && *o.MTLSMode == MTLSFull && o.ProxyPool != nil && namedPool(*o.ProxyPool) {
		errs = errs.Also(apis.ErrGeneric(conflictMessage(
			ssm.MTLSModeAnnotationKey+` "full"`,
			ssm.ProxyPoolAnnotationKey+" "+strconv.Quote(*o.ProxyPool)),
			annotationPath(ssm.MTLSModeAnnotationKey), annotationPath(ssm.ProxyPoolAnnotationKey)))
	}
	return o, errs
}

// parseAnnotation sets the field of o that key names, or returns why v is
// not a valid value for it.
func parseAnnotation(o *Overrides, key, v string) *apis.FieldError {
	invalid := func(allowed string) *apis.FieldError {
		return apis.ErrInvalidValue(strconv.Quote(v), annotationPath(key), key+" "+allowed)
	}
	switch key {
	case ssm.LifecycleAnnotationKey:
		l, err := ParseLifecycle(v)
		if err != nil {
			return invalid(allowedLifecycles)
		}
		o.Lifecycle = &l
	case ssm.TimeoutAnnotationKey:
		d, err := time.ParseDuration(v)
		if err != nil || ValidateTimeout(d) != nil {
			return invalid(allowedTimeout)
		}
		o.Timeout = &d
	case ssm.RetriesAnnotationKey:
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || ValidateRetries(n) != nil {
			return invalid(allowedRetries)
		}
		r := int32(n)
		o.Retries = &r
	case ssm.MTLSModeAnnotationKey:
		m, err := ParseMTLSMode(v)
		if err != nil {
			return invalid(allowedMTLSModes)
		}
		o.MTLSMode = &m
	case ssm.ProxyPoolAnnotationKey:
		if ValidateProxyPoolName(v) != nil {
			return invalid(allowedProxyPool)
		}
		o.ProxyPool = &v
	}
	return nil
}

// unknownAnnotations rejects ssm.dev/ keys that are not in known, sorted so
// the error text does not depend on map order.
func unknownAnnotations(annotations map[string]string, known []string) *apis.FieldError {
	var unknown []string
	for k := range annotations {
		if strings.HasPrefix(k, ssm.AnnotationPrefix) && !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var errs *apis.FieldError
	for _, k := range unknown {
		errs = errs.Also(apis.ErrInvalidKeyName(k, annotationPath(k),
			"unknown SSM annotation; known keys are "+quoteList(known)))
	}
	return errs
}
