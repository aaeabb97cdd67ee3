"""HTTP endpoints of the lots app (mounted under /api by flowviz/api.py)."""

from ninja import Router

router = Router(tags=["lots"])
