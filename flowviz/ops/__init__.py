"""Operations plumbing: request logs, metrics, the database pool and backend, the cache
guard, the gunicorn configuration. Imports no FlowViz app."""
