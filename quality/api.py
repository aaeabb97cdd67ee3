"""HTTP endpoints of the quality app (mounted under /api by flowviz/api.py)."""

from ninja import Router

router = Router(tags=["quality"])
