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

package comparison

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds on the flags: every run stops by itself in minutes.
const (
	maxClients  = 256
	maxRequests = 200000
	maxRounds   = 50
)

// Load is the offered load of a closed-loop comparison and the bound on its
// run, as the benchmarks under bench/ take it from their flags.
type Load struct {
	// Clients are the concurrent keep-alive client counts; each gets a
	// table of its own.
	Clients []int
	// Requests are measured per round; Warmup requests before them are
	// discarded.
	Requests, Warmup int
	// Rounds of each variant, interleaved.
	Rounds int
	// Timeout is the hard limit on the whole run.
	Timeout time.Duration

	// clients is -clients as given; Validate parses it into Clients.
	clients string
}

// RegisterFlags defines -clients, -requests, -warmup, -rounds and -timeout
// on fs, writing into l. Call Validate after fs is parsed.
func (l *Load) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.clients, "clients", "1,16", "comma-separated concurrent keep-alive clients; one table each")
	fs.IntVar(&l.Requests, "requests", 3000, "measured requests per round")
	fs.IntVar(&l.Warmup, "warmup", 300, "requests per round before measuring, discarded")
	fs.IntVar(&l.Rounds, "rounds", 15, "rounds of each variant, interleaved")
	fs.DurationVar(&l.Timeout, "timeout", 5*time.Minute, "hard limit on the whole run")
}

// Validate parses -clients into Clients and checks every field against its
// bounds; the error names the first flag out of them.
func (l *Load) Validate() error {
	clients, err := parseClients(l.clients)
	if err != nil {
		return err
	}
	l.Clients = clients
	switch {
	case l.Requests < 100 || l.Requests > maxRequests:
		return fmt.Errorf("-requests %d: want 100..%d", l.Requests, maxRequests)
	case l.Warmup < 0 || l.Warmup > maxRequests:
		return fmt.Errorf("-warmup %d: want 0..%d", l.Warmup, maxRequests)
	case l.Rounds < 1 || l.Rounds > maxRounds:
		return fmt.Errorf("-rounds %d: want 1..%d", l.Rounds, maxRounds)
	case l.Timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}

func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxClients {
			return nil, fmt.Errorf("-clients %q: want numbers 1..%d", s, maxClients)
		}
		out = append(out, n)
	}
	return out, nil
}

// Run runs bench under a context that ends on an interrupt, on SIGTERM or
// after l.Timeout, and returns the process's exit code: 0, or 1 after
// writing "program: error" to stderr.
func (l Load) Run(program string, stderr io.Writer, bench func(ctx context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	if err := bench(ctx); err != nil {
		fmt.Fprintln(stderr, program+":", err)
		return 1
	}
	return 0
}
