"""The one NinjaAPI: mounts the app routers; error handling (flowviz/http/errors.py) is installed once."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Swagger

from accounts.api import router as accounts_router
from flowviz.http.errors import install_error_handlers
from flowviz.http.health import router as health_router
from flowviz.http.openapi import document_request_errors
from flowviz.http.parsers import StrictJSONParser
from flowviz.http.renderers import ORJSONRenderer
from flowviz.production.api import router as flows_router
from lots.api import router as lots_router
from quality.api import router as quality_router


class FlowVizAPI(NinjaAPI):
    """The NinjaAPI whose OpenAPI document also lists what reading a request can answer
    (400/413/415/422 for a body, 422 for parameters, 404 for a path: flowviz/http/openapi.py)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return document_request_errors(super().get_openapi_schema(**kwargs))


api = FlowVizAPI(
    title="FlowViz API",
    version="1.0.0",
    description="Warehouse and traceability API of a food-production plant.",
    urls_namespace="api",
    docs_url="/docs",
    # Swagger UI from our own static files (ninja in INSTALLED_APPS); no call to the public
    # validator either, so the page works without internet.
    docs=Swagger(settings={"validatorUrl": None}),
    openapi_url="/openapi.json",
    renderer=ORJSONRenderer(),
    parser=StrictJSONParser(),
)
install_error_handlers(api)

api.add_router("/", accounts_router)
api.add_router("/", lots_router)
api.add_router("/", quality_router)
api.add_router("/", flows_router)
api.add_router("/", health_router)
