"""A URLconf with a view that fails, for the error-logging tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def failing_view(request: HttpRequest) -> HttpResponse:
    raise ValueError("boom in the view")


urlpatterns = [
    path("fail", failing_view),
    path("", include("flowviz.urls")),
]
