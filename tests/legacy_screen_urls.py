"""A test-only URLconf: FlowViz's own URLs plus a page written like the frontend's older screens.

The page is served from the same origin as the API (as nginx serves the frontend), logs in with
`POST /api/login`, then calls the API with plain `fetch` and no Authorization header, as the
register-lot and traceability screens do, and writes what it saw into `#result`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from flowviz.urls import urlpatterns as flowviz_urlpatterns

LEGACY_SCREEN = """<!doctype html>
<html><head><meta charset="utf-8"><title>Legacy screen</title></head>
<body><pre id="result"></pre>
<script>
async function asJson(response) {
  return {status: response.status, body: await response.json()};
}
async function run() {
  const email = new URLSearchParams(location.search).get("email");
  const password = new URLSearchParams(location.search).get("password");
  const json = {"Content-Type": "application/json"};
  const login = await fetch("/api/login", {
    method: "POST", headers: json, body: JSON.stringify({email, password}),
  });
  const trace = await fetch("/api/traceability/MIX-BATCH-88");
  const created = await fetch("/api/lots", {
    method: "POST", headers: json, body: JSON.stringify({lot_code: "BROWSER-SKW-1", lot_type: "SKW"}),
  });
  const missing = await fetch("/api/traceability/NO-SUCH-LOT");
  return {
    login: login.status,
    trace: await asJson(trace),
    created: await asJson(created),
    missing: await asJson(missing),
    scriptSeesCookie: document.cookie.includes("flowviz_token"),
  };
}
run().then(
  (result) => { document.getElementById("result").textContent = JSON.stringify(result); },
  (error) => { document.getElementById("result").textContent = JSON.stringify({error: String(error)}); },
);
</script></body></html>"""


def legacy_screen(request: HttpRequest) -> HttpResponse:
    return HttpResponse(LEGACY_SCREEN)


urlpatterns = [path("legacy-screen/", legacy_screen), *flowviz_urlpatterns]
