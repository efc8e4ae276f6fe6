"""plumb.monitor: production monitoring inside the application.

Every request is measured and named, slow requests keep their traces, a
sampler profiles what every thread does split by transaction, and a
background thread harvests it all into a store (an SQLite file by default)."""
