package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/cluster"
	"github.com/walrelay/walrelay/hub"
	"github.com/walrelay/walrelay/ws"
)

// newSendLatency is the histogram of the time from a row event's commit to
// its write to a client's socket.
func newSendLatency() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "walrelay_commit_to_send_seconds",
		Help:    "Time from a row event's commit (its transaction's commit timestamp) to its write to a WebSocket, per delivery.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
}

// metricsHandler serves Prometheus metrics at /metrics: the Go runtime,
// for realtime servers the replication stream's state, the changes
// decoded, the gateway's connections, deliveries and send queues and the
// commit-to-send latency (sendLatency, observed by the gateway), and the
// cluster node's state. Counters on the event path are atomics; the rest
// is read when scraped.
func metricsHandler(consumer *cdc.Consumer, h *hub.Hub, node *cluster.Node, gw *ws.Server, sendLatency prometheus.Histogram) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if consumer != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_slot_retained_wal_bytes",
				Help: "WAL the replication slot keeps (pg_current_wal_lsn() - restart_lsn) at the last check.",
			}, func() float64 { return float64(consumer.RetainedWALBytes()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_replication_streaming",
				Help: "1 while the replication connection is streaming, else 0.",
			}, func() float64 {
				if consumer.Streaming() {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_slot_confirmed_lsn",
				Help: "Last position confirmed to the slot, as a byte offset.",
			}, func() float64 { return float64(consumer.Confirmed()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "walrelay_changes_decoded_total",
				Help: "Change events (rows of realtime tables, emitted messages) decoded from the WAL and handed to the hub.",
			}, func() float64 { return float64(consumer.Decoded()) }),
		)
	}
	if gw != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_connections",
				Help: "Open WebSocket connections.",
			}, func() float64 { return float64(gw.Stats().Connections) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "walrelay_events_delivered_total",
				Help: "Event, custom-channel and presence messages written to WebSockets.",
			}, func() float64 { return float64(gw.Stats().Delivered) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "walrelay_frames_written_total",
				Help: "WebSocket data frames written; events delivered over frames is the messages a frame carries.",
			}, func() float64 { return float64(gw.Stats().Frames) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "walrelay_events_dropped_total",
				Help: "Messages not written: a send queue overflowed (4408), the connection had ended or its token had expired.",
			}, func() float64 { return float64(gw.Stats().Dropped) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_send_queue_messages",
				Help: "Messages waiting in all connections' send queues.",
			}, func() float64 { n, _ := gw.QueueDepth(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "walrelay_send_queue_max_messages",
				Help: "Messages waiting in the deepest send queue.",
			}, func() float64 { _, n := gw.QueueDepth(); return float64(n) }),
		)
		if sendLatency != nil {
			reg.MustRegister(sendLatency)
		}
	}
	if h != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "walrelay_subscriptions",
			Help: "Live subscriptions across all WebSocket connections.",
		}, func() float64 { return float64(h.Len()) }))
	}
	if node != nil {
		registerClusterMetrics(reg, consumer, node)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// registerClusterMetrics adds the cluster gauges: leadership, the stream
// lag, the NATS connection and the other nodes heard from.
func registerClusterMetrics(reg *prometheus.Registry, consumer *cdc.Consumer, node *cluster.Node) {
	gauge := func(name, help string, f func(cluster.Status) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(node.Status()) })
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "walrelay_cluster_leader",
			Help: "1 while this node holds the replication slot and publishes to the stream, else 0.",
		}, func() float64 { return b(consumer != nil && consumer.Streaming()) }),
		gauge("walrelay_cluster_stream_pending_messages", "Stream lag: messages in the change stream this node has not consumed yet.",
			func(s cluster.Status) float64 { return float64(s.Pending) }),
		gauge("walrelay_cluster_stream_delivered_sequence", "Stream sequence of the last message this node consumed.",
			func(s cluster.Status) float64 { return float64(s.Delivered) }),
		gauge("walrelay_cluster_nats_connected", "1 while the NATS connection is up, else 0.",
			func(s cluster.Status) float64 { return b(s.Connected) }),
		gauge("walrelay_cluster_remote_nodes", "Other nodes of the cluster heard from within the presence timeout.",
			func(s cluster.Status) float64 { return float64(s.RemoteNodes) }),
	)
}
