package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walrelay/walrelay/cdc"
	"github.com/walrelay/walrelay/hub"
)

// metricsHandler serves Prometheus metrics at /metrics: the Go runtime, and
// for realtime servers the replication stream's state. Values are read when
// scraped; nothing is counted on the event path.
func metricsHandler(consumer *cdc.Consumer, h *hub.Hub) http.Handler {
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
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
