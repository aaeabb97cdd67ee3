from django.conf import settings
from django.contrib import admin
from django.urls import path

from flowviz.api import api
from flowviz.ops.monitoring import metrics_view

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", api.urls),
    # Prometheus scrapes /metrics (outside /api: not rate limited, IP allow-list instead).
    path("metrics", metrics_view, name="metrics"),
]
