"""Prometheus metrics: what is recorded (families), how /metrics is served (exposition),
the queue's gauges read at scrape time (queue), and the files several processes share
(processes). docs/observability.md lists every metric."""
