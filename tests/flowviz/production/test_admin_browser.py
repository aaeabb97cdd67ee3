"""End to end in a real browser: a manager edits the imported scenario in the admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.roles import Role, role_groups_sync
from flowviz.demo.seed import demo_seed
from flowviz.production.models import Scenario
from lots.models import Lot
from quality.models import QcDecision, QcGate
from tests.admin_support import PASSWORD, user_with_role
from tests.browser_support import ChromiumLiveServerTestCase

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.browser
class ManagerInTheAdminTest(ChromiumLiveServerTestCase):
    def setUp(self):
        role_groups_sync()  # a flush by an earlier transactional test removes the groups
        demo_seed()
        self.manager = user_with_role(Role.MANAGER, email="maria@example.com")
        for code, decision in (("RAW-BEEF-001", "PASS"), ("RAW-SPICE-001", "FAIL"), ("MIX-BATCH-88", "HOLD")):
            QcDecision.objects.create(lot=Lot.objects.get(lot_code=code), decision=decision)

    def _open(self, path: str) -> None:
        self.browser.get(self.live_server_url + path)

    def _log_in(self) -> None:
        from selenium.webdriver.common.by import By

        self._open("/admin/login/?next=/admin/")
        self.browser.find_element(By.NAME, "username").send_keys("maria@example.com")
        self.browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        self.browser.find_element(By.ID, "user-tools")

    def test_a_manager_renames_a_gate_in_both_languages_and_sees_it(self):
        from selenium.webdriver.common.by import By

        self._log_in()
        self._open("/admin/flowviz/scenario/")
        self.browser.find_element(By.LINK_TEXT, "FlowViz demo production (1.0.0)").click()
        scenario = Scenario.objects.get(config__meta__id="flowviz-demo")
        gate = QcGate.objects.get(scenario=scenario, gate_number=1)
        row = self.browser.find_element(By.CSS_SELECTOR, f"input[name$='-id'][value='{gate.pk}']")
        prefix = row.get_attribute("name").removesuffix("-id")
        for language, text in (("hu", "Beérkező áru"), ("en", "Goods in")):
            field = self.browser.find_element(By.NAME, f"{prefix}-name_{language}")
            field.clear()
            field.send_keys(text)
        self.browser.find_element(By.NAME, "_continue").click()

        success = self.browser.find_element(By.CSS_SELECTOR, ".messagelist .success").text
        assert "was changed successfully" in success
        assert (
            self.browser.find_element(By.NAME, f"{prefix}-name_hu").get_attribute("value") == "Beérkező áru"
        )
        assert self.browser.find_element(By.NAME, f"{prefix}-name_en").get_attribute("value") == "Goods in"
        gate.refresh_from_db()
        assert gate.name == {"hu": "Beérkező áru", "en": "Goods in"}
        self._open("/admin/quality/qcgate/")
        assert "Gate 1: Goods in" in self.browser.find_element(By.ID, "result_list").text

        mix = Lot.objects.get(lot_code="MIX-BATCH-88")
        self._open(f"/admin/lots/lot/{mix.pk}/change/")
        picture = self.browser.find_element(By.ID, "lot-genealogy")
        codes = {a.get_attribute("data-lot-code") for a in picture.find_elements(By.CSS_SELECTOR, "a.lot")}
        assert codes == {"RAW-BEEF-001", "RAW-SPICE-001", "MIX-BATCH-88", "FG-DONER-X1"}
        ARTIFACTS.mkdir(exist_ok=True)
        self.browser.execute_script("arguments[0].scrollIntoView();", picture)
        picture.screenshot(str(ARTIFACTS / "lot-genealogy.png"))
        self.browser.save_screenshot(str(ARTIFACTS / "lot-page.png"))
        assert (ARTIFACTS / "lot-genealogy.png").stat().st_size > 1000
