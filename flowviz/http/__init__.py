"""HTTP plumbing shared by every router: error mapping, error bodies, throttles, renderers,
health probes and the ASGI fast path for /api."""
