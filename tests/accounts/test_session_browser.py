"""End to end in a real browser: the frontend's older screens work with the session cookie.

Headless Chromium loads a page from FlowViz's own test server (tests/legacy_screen_urls.py),
which logs in and then calls the API with plain `fetch` and no Authorization header.
The API docs page is checked in the same browser: Swagger UI comes from our static files.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from accounts.roles import Role
from flowviz.demo.seed import demo_seed
from lots.models import Lot
from tests.admin_support import PASSWORD, user_with_role
from tests.browser_support import ChromiumLiveServerTestCase


@pytest.mark.browser
@override_settings(ROOT_URLCONF="tests.legacy_screen_urls", THROTTLE_ENABLED=False)
class LegacyScreensInABrowserTest(ChromiumLiveServerTestCase):
    def setUp(self):
        demo_seed()
        self.operator = user_with_role(Role.OPERATOR, email="olga@example.com")

    def _result(self) -> dict:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.browser, 20).until(
            lambda browser: browser.find_element("id", "result").text.strip() != ""
        )
        return json.loads(self.browser.find_element("id", "result").text)

    def test_after_login_plain_fetch_calls_without_a_header_work(self):
        self.browser.get(f"{self.live_server_url}/legacy-screen/?email=olga@example.com&password={PASSWORD}")
        result = self._result()
        assert "error" not in result, result
        assert result["login"] == 200
        assert result["trace"]["status"] == 200
        assert result["trace"]["body"]["central"]["lot_code"] == "MIX-BATCH-88"
        assert result["created"]["status"] == 201
        assert result["created"]["body"]["operator_id"] == str(self.operator.pk)
        assert Lot.objects.filter(lot_code="BROWSER-SKW-1", operator=self.operator).exists()
        # The legacy screens read data.error: every error body has it.
        assert result["missing"]["status"] == 404
        assert result["missing"]["body"] == {"detail": "Lot not found", "error": "Lot not found"}
        # HttpOnly: the page's scripts never see the token.
        assert result["scriptSeesCookie"] is False

    def test_the_api_docs_render_from_our_own_static_files(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser.get(f"{self.live_server_url}/api/docs")
        title = WebDriverWait(self.browser, 20).until(
            lambda browser: browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title")
        )
        assert "FlowViz API" in title.text
        operations = self.browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        assert any("/api/flows" in op.text for op in operations)
