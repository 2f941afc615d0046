"""The web page driven in a real headless Chromium (Debian's chromium + chromium-driver, through selenium):
upload a file and read its score off the page."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="selenium is in the test extra: pip install -e '.[test]'")
    from onnxnet.errors import OnnxNetError
    from onnxnet.serve.launch import headless_chromium

    try:
        d = headless_chromium()
    except OnnxNetError as e:  # only where the packages cannot be installed
        pytest.skip(str(e))
    try:
        yield d
    finally:
        d.quit()


def test_upload_a_file_and_read_the_score_off_the_page(server, nets, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda d: "Predictor: pairwise" in d.find_element(By.ID, "info").text)
    path = nets["path"].iloc[12]
    browser.find_element(By.ID, "file").send_keys(path)
    score = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".card .score")))
    rank = browser.find_element(By.CSS_SELECTOR, ".card .rank").text
    shown = float(score.text)
    # the page shows what the API answers for the same file
    api = httpx.post(server.url + "/predict", files={"files": ("x.onnx", open(path, "rb").read())}).json()["results"][0]
    assert shown == pytest.approx(api["score"], abs=1e-4)
    assert rank == f"#{api['rank']} of {api['of'] + 1}"
    assert browser.find_elements(By.CSS_SELECTOR, ".card svg.rankplot rect")  # the plot is drawn
    assert "net12.onnx" in browser.find_element(By.CSS_SELECTOR, ".card h2").text
    text = browser.find_element(By.CSS_SELECTOR, ".card pre.encoding").get_attribute("textContent")
    assert text.startswith("in ") and len(text) == api["encoding_chars"]
    # a bad file shows the server's message, and the page keeps working
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file at all")
    browser.find_element(By.ID, "file").send_keys(str(bad))
    msg = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".card.error .msg")))
    assert "broken.onnx" in msg.text and "not a valid ONNX" in msg.text
