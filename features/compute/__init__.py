"""Computing features: batch SQL, snapshots, labels, online rows, engines."""
