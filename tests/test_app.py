"""The demo app in a real browser: scripts/app.py serves a saved model on a loopback port, headless Debian chromium
(driven by selenium) uploads generated photos and reads the tier from the page; bad input gets a message there.
The browser resolves no host name, so nothing but the loopback app is reachable."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from PIL import Image, ImageDraw
from test_pipeline import save_untrained_run
from transformers import pipeline

from conftest import SCRIPTS_DIR, simple_houses, write_listing

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs the app extra: pip install -e '.[app]'")
pytest.importorskip("gradio", reason="needs the app extra: pip install -e '.[app]'")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

MAX_PHOTOS = 4  # the app's --max_photos: one house may have at most this many
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no host name resolves: loopback only
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with status {process.returncode}:\n{process.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the app did not answer on {url} within {timeout_s} s")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained_run(tmp_path_factory.mktemp("app") / "vit-scratch", "vit-scratch")


@pytest.fixture(scope="module")
def app_url(model_dir, tmp_path_factory):
    """`python scripts/app.py --model RUN` on a free loopback port, offline, for the whole module."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    env["HF_MODULES_CACHE"] = str(tmp_path_factory.mktemp("modules"))
    env["HF_DATASETS_CACHE"] = str(tmp_path_factory.mktemp("datasets-cache"))  # where the listing tab stores photos
    command = [sys.executable, os.path.join(SCRIPTS_DIR, "app.py"), "--model", str(model_dir),
               "--host", "127.0.0.1", "--port", str(port), "--max_photos", str(MAX_PHOTOS)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three room-like photos (wall, floor, a box) of one house, in listing order."""
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for index, (wall, box) in enumerate([((200, 190, 170), (150, 40, 40)), ((90, 120, 160), (40, 140, 60)),
                                         ((230, 230, 220), (40, 40, 150))]):  # fmt: skip
        image = Image.new("RGB", (160, 120), wall)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 85, 160, 120), fill=(120 + 30 * index, 90, 60))
        draw.rectangle((30 + 20 * index, 50, 80 + 20 * index, 95), fill=box)
        paths.append(str(folder / f"room{index + 1}.jpg"))
        image.save(paths[-1])
    return paths


def open_page(browser, url):
    browser.get(url)
    WebDriverWait(browser, 60).until(lambda page: page.find_elements(By.CSS_SELECTOR, "#photos input[type=file]"))


def upload(browser, paths):
    browser.find_element(By.CSS_SELECTOR, "#photos input[type=file]").send_keys("\n".join(map(str, paths)))


def verdict_with(browser, text: str) -> str:
    """The verdict area's text once it contains `text`."""
    WebDriverWait(browser, 60).until(lambda page: text in page.find_element(By.ID, "verdict").text)
    return browser.find_element(By.ID, "verdict").text


def test_uploaded_photos_get_the_tier_probabilities_and_photos_by_attention(browser, app_url, model_dir, photos, tmp_path):  # fmt: skip
    expected = pipeline(model=str(model_dir), trust_remote_code=True)([Image.open(photo) for photo in photos])
    open_page(browser, app_url)
    upload(browser, photos)
    verdict = verdict_with(browser, "Tier:")
    browser.save_screenshot(str(tmp_path / "app.png"))
    assert re.search(r"Tier: (\w+)", verdict).group(1) == expected["tier"]
    assert "Read 3 of 3 photos" in verdict
    probabilities = browser.find_element(By.ID, "probabilities").text
    assert all(tier in probabilities for tier in expected["probabilities"])
    captions = re.findall(r"photo (\d) · (\d\.\d\d)", browser.find_element(By.ID, "gallery").text)
    attention = expected["photo_attention"]
    assert [int(number) - 1 for number, _ in captions] == sorted(range(3), key=lambda index: -attention[index])
    assert [float(weight) for _, weight in captions] == [round(attention[int(n) - 1], 2) for n, _ in captions]


def test_bad_uploads_get_a_message_in_the_page(browser, app_url, photos, tmp_path):
    (tmp_path / "notes.txt").write_text("not a photo")
    open_page(browser, app_url)
    browser.find_element(By.ID, "predict").click()
    assert "Upload at least one photo" in verdict_with(browser, "⚠️")

    open_page(browser, app_url)
    upload(browser, [tmp_path / "notes.txt"])
    assert "No photo could be read: notes.txt is not an image" in verdict_with(browser, "⚠️")

    open_page(browser, app_url)
    upload(browser, photos + photos[:2])
    assert f"5 photos is too many: one house may have at most {MAX_PHOTOS}" in verdict_with(browser, "⚠️")
    assert "Traceback" not in browser.page_source


def test_a_house_of_a_listing_gets_its_tier_and_an_unknown_house_a_message(browser, app_url, tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=2, photos_per_house=3))
    open_page(browser, app_url)
    browser.find_element(By.XPATH, "//button[@role='tab' and normalize-space()='Listing']").click()
    listing_box = browser.find_element(By.CSS_SELECTOR, "#listing textarea")
    house_box = browser.find_element(By.CSS_SELECTOR, "#house-id textarea")
    listing_box.send_keys(str(listing))
    house_box.send_keys("1")
    browser.find_element(By.ID, "predict-listing").click()
    assert "Read 3 of 3 photos" in verdict_with(browser, "Tier:")
    house_box.clear()
    house_box.send_keys("nope")
    browser.find_element(By.ID, "predict-listing").click()
    assert "House 'nope': not in the listing" in verdict_with(browser, "⚠️")
