"""HTTP endpoints of the accounts app (mounted under /api by flowviz/api.py)."""

from ninja import Router

router = Router(tags=["accounts"])
