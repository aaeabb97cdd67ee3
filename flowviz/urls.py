from functools import partial

from django.conf import settings
from django.contrib import admin
from django.urls import path
from ninja.openapi.views import openapi_json

from flowviz.api import api
from flowviz.ops.monitoring import metrics_view

# The admin's page header, browser title and start page name FlowViz, not Django.
admin.site.site_header = "FlowViz administration"
admin.site.site_title = "FlowViz admin"
admin.site.index_title = "Production, lots and quality"

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", api.urls),
    # The frontend's API-type generator reads the document at the server root: the same
    # document as /api/openapi.json (its paths keep the /api prefix).
    path("openapi.json", partial(openapi_json, api=api), name="openapi-json"),
    # Prometheus scrapes /metrics (outside /api: not rate limited, IP allow-list instead).
    path("metrics", metrics_view, name="metrics"),
]
