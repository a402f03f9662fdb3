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

package sizing

import (
	"sync"
	"time"
)

// Recommender sizes a pool by name. The ProxyPool reconciler depends on
// this, not on where the history comes from.
type Recommender interface {
	Recommend(pool string, now time.Time, minSize, maxSize, headroomPercent int32, h Held) Recommendation
}

var _ Recommender = (*Pools)(nil)

// Pools keeps one Model per pool name. It is safe for concurrent use.
type Pools struct {
	cfg    Config
	mu     sync.RWMutex
	models map[string]*Model
}

// NewPools returns an empty set of models that all use cfg.
func NewPools(cfg Config) *Pools {
	return &Pools{cfg: cfg.withDefaults(), models: map[string]*Model{}}
}

// Record adds ev to the model of ev.Pool.
func (p *Pools) Record(ev ColdStart) {
	p.modelFor(ev.Pool).Record(ev)
}

// Recommend sizes pool as Model.RecommendHeld does. A pool without any
// recorded cold start is idle and gets minSize, plus what ssm-pool reports
// leased.
func (p *Pools) Recommend(pool string, now time.Time, minSize, maxSize, headroomPercent int32, h Held) Recommendation {
	p.mu.RLock()
	m := p.models[pool]
	p.mu.RUnlock()
	if m == nil {
		// Not stored: asking about a pool must not grow the map.
		m = New(p.cfg)
	}
	return m.RecommendHeld(now, minSize, maxSize, headroomPercent, h)
}

// Forget drops the history of pool.
func (p *Pools) Forget(pool string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.models, pool)
}

func (p *Pools) modelFor(pool string) *Model {
	p.mu.RLock()
	m := p.models[pool]
	p.mu.RUnlock()
	if m != nil {
		return m
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m = p.models[pool]; m == nil {
		m = New(p.cfg)
		p.models[pool] = m
	}
	return m
}
