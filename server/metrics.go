package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/cluster"
	"github.com/walrelay/walrelay/hub"
)

// metricsHandler serves Prometheus metrics at /metrics: the Go runtime, and
// for realtime servers the replication stream's state. Values are read when
// scraped; nothing is counted on the event path.
func metricsHandler(consumer *cdc.Consumer, h *hub.Hub, node *cluster.Node) http.Handler {
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
		)
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
