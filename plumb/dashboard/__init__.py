"""plumb's dashboard: `plumb serve`, the web server over a monitoring store
(standard library only), with its versioned JSON API (api.py), Prometheus's
/metrics (prometheus.py) and who may see them (access.py)."""
