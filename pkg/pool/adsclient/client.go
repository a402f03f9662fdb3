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

package adsclient

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// DefaultUpdatesBuffer is the capacity of the Updates channel when
// Config.UpdatesBuffer is zero.
const DefaultUpdatesBuffer = 256

// Config says who the client is and what it subscribes to.
type Config struct {
	// Node identifies the client; it is sent on every request, as Envoy does
	// unless its bootstrap sets set_node_on_first_message_only.
	Node *corev3.Node
	// TypeURLs are the subscribed types, requested in this order. Clusters,
	// listeners and any other type are wildcard subscriptions; endpoints and
	// routes are subscribed by the names the received clusters and listeners
	// reference, so each needs its parent type in the list.
	TypeURLs []string
	// Decide accepts or rejects a response before it is applied: nil ACKs
	// every response that decodes; a non-nil error NACKs it with the error's
	// message as error_detail. It runs on the client's receive goroutine.
	Decide func(typeURL string, resp *discoveryv3.DiscoveryResponse) error
	// Applied, when set, runs after an accepted response's resources are in
	// place (Resources returns them) and before its ACK is sent, on the
	// client's receive goroutine: a client that serves the configuration
	// installs it there, so that it serves what it ACKs.
	Applied func(c *Client, typeURL string)
	// UpdatesBuffer is the capacity of the Updates channel (0 means
	// DefaultUpdatesBuffer). Updates that find it full are counted and
	// dropped, so a client nobody reads from never stalls its stream.
	UpdatesBuffer int
}

// Update records one response and the client's answer to it.
type Update struct {
	TypeURL string
	// Version and Nonce are the response's version_info and nonce.
	Version string
	Nonce   string
	// Names are the resources the response carried, in its order, including
	// any the client did not subscribe to.
	Names []string
	// Acked is true when the client ACKed the response; Error is the NACK's
	// error_detail otherwise.
	Acked bool
	Error string
}

// Client is one ADS stream. All its methods are safe for concurrent use.
type Client struct {
	cfg    Config
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	// ctx is the stream's context as Dial made it; only Close and the caller end it.
	ctx     context.Context
	cancel  context.CancelFunc
	updates chan Update
	done    chan struct{}

	mu      sync.Mutex
	types   map[string]*typeState
	changed chan struct{} // closed and replaced whenever state changes
	dropped int
	err     error // why the stream ended; set before done is closed
}

// Dial opens an ADS stream on conn and sends the initial requests. The stream
// lives until Close is called or ctx is done.
func Dial(ctx context.Context, conn grpc.ClientConnInterface, cfg Config) (*Client, error) {
	types, err := newTypeStates(cfg.TypeURLs)
	if err != nil {
		return nil, fmt.Errorf("ads client %q: %w", cfg.Node.GetId(), err)
	}
	buffer := cfg.UpdatesBuffer
	if buffer <= 0 {
		buffer = DefaultUpdatesBuffer
	}
	streamCtx, cancel := context.WithCancel(ctx)
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(streamCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ads client %q: opening stream: %w", cfg.Node.GetId(), err)
	}
	c := &Client{
		cfg:     cfg,
		stream:  stream,
		ctx:     streamCtx,
		cancel:  cancel,
		updates: make(chan Update, buffer),
		done:    make(chan struct{}),
		types:   types,
		changed: make(chan struct{}),
	}
	// Only the receive goroutine sends after this point, so the stream's
	// one-sender rule holds without a lock.
	for _, typeURL := range cfg.TypeURLs {
		st := types[typeURL]
		if st.parent != "" {
			// Envoy asks for endpoints and routes only once a cluster or
			// listener names them: an empty list would be a wildcard.
			continue
		}
		if err := c.send(c.request(typeURL, st, st.version, "")); err != nil {
			cancel()
			return nil, fmt.Errorf("ads client %q: initial request for %s: %w", cfg.Node.GetId(), typeURL, err)
		}
		st.requested = true
	}
	go c.receive()
	return c, nil
}

// Resources returns the accepted resources of a type by name. The map is the
// caller's; the messages are shared and must not be modified.
func (c *Client) Resources(typeURL string) map[string]proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.types[typeURL]
	if !ok {
		return map[string]proto.Message{}
	}
	return maps.Clone(st.resources)
}

// Names returns the sorted names of a type's accepted resources.
func (c *Client) Names(typeURL string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.types[typeURL]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(st.resources))
}

// Version returns the last version of a type the client ACKed, "" if none.
func (c *Client) Version(typeURL string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.types[typeURL]; ok {
		return st.version
	}
	return ""
}

// Updates delivers every response and the answer to it, while the channel has
// room (see Config.UpdatesBuffer). It is closed when the stream ends.
func (c *Client) Updates() <-chan Update { return c.updates }

// DroppedUpdates counts updates that found the Updates channel full.
func (c *Client) DroppedUpdates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Done is closed when the stream has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the stream ended, nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// WaitFor returns nil once cond holds, evaluating it again after every
// response. It fails when ctx is done or the stream ends first. cond may call
// the client's methods.
func (c *Client) WaitFor(ctx context.Context, cond func(*Client) bool) error {
	// Each response closes at most a bounded number of change channels, and
	// the loop ends with ctx or the stream.
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		// cond is evaluated after taking the channel, so a change between the
		// two is not missed.
		if cond(c) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("ads client %q: waiting: %w", c.cfg.Node.GetId(), ctx.Err())
		case <-c.done:
			if cond(c) {
				return nil
			}
			return fmt.Errorf("ads client %q: stream ended while waiting: %w", c.cfg.Node.GetId(), c.Err())
		}
	}
}

// Close ends the stream and waits for the receive goroutine to stop.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}

// receive handles responses until the stream ends.
func (c *Client) receive() {
	var err error
	for err == nil {
		var resp *discoveryv3.DiscoveryResponse
		resp, err = c.stream.Recv()
		if err == nil {
			err = c.handle(resp)
		}
	}
	c.mu.Lock()
	// Our own context, not the stream's: gRPC cancels the stream's context
	// whenever the stream ends, which would hide the server's status.
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		// Close or the Dial context ended the stream; gRPC's own error for
		// that would hide which.
		err = fmt.Errorf("ads client %q: stream closed: %w", c.cfg.Node.GetId(), ctxErr)
	} else {
		err = fmt.Errorf("ads client %q: stream: %w", c.cfg.Node.GetId(), err)
	}
	c.err = err
	c.broadcastLocked()
	c.mu.Unlock()
	close(c.updates)
	close(c.done)
	c.cancel()
}

// broadcastLocked wakes every WaitFor. c.mu must be held.
func (c *Client) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// publishLocked offers u to the Updates channel without ever blocking the
// stream. It runs under c.mu so that an update is visible no earlier than the
// state it reports. c.mu must be held.
func (c *Client) publishLocked(u Update) {
	select {
	case c.updates <- u:
	default:
		c.dropped++
	}
}

func (c *Client) send(req *discoveryv3.DiscoveryRequest) error {
	if err := c.stream.Send(req); err != nil {
		return fmt.Errorf("sending %s request: %w", req.GetTypeUrl(), err)
	}
	return nil
}
