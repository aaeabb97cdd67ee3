"""Headless Chromium for the end-to-end browser tests (mark them `browser`)."""

from __future__ import annotations

import tempfile

from django.contrib.staticfiles.testing import StaticLiveServerTestCase

from tests.conftest import CHROMEDRIVER

_CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


class ChromiumLiveServerTestCase(StaticLiveServerTestCase):
    """A live FlowViz server (static files served) and `cls.browser`: Debian's chromium with a
    throwaway profile, driven through its chromedriver."""

    @classmethod
    def setUpClass(cls):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        super().setUpClass()
        cls.profile = tempfile.TemporaryDirectory(prefix="flowviz-chromium-")
        options = webdriver.ChromeOptions()
        for flag in (*_CHROMIUM_FLAGS, f"--user-data-dir={cls.profile.name}"):
            options.add_argument(flag)
        options.binary_location = "/usr/bin/chromium"
        # An explicit driver path: Selenium Manager never downloads anything.
        cls.browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        cls.browser.implicitly_wait(5)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.profile.cleanup()
        super().tearDownClass()
