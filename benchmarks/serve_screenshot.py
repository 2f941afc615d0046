"""Screenshot of the ``onnxnet serve`` page after an upload, taken in headless Chromium (selenium).

    python benchmarks/serve_screenshot.py --predictor runs/pw-nb201 --file runs/nb201-load/10047.onnx \
        --out docs/serve-page.png

Starts the server on a free loopback port, opens the page, uploads ``--file`` through the file input, waits for
its score, opens the encoding text, and saves a full-page PNG.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictor", type=Path, required=True)
    ap.add_argument("--file", type=Path, required=True, action="append", help="repeatable")
    ap.add_argument("--out", type=Path, default=Path("docs/serve-page.png"))
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from onnxnet.serve.launch import ServerProcess, headless_chromium

    tmp = Path(tempfile.mkdtemp(prefix="onnxnet-shot-"))
    with ServerProcess(a.predictor, tmp, "--cache-dir", str(tmp / "cache")) as server:
        d = headless_chromium(1200, 1000)
        try:
            d.get(server.url + "/")
            wait = WebDriverWait(d, 600)
            wait.until(lambda drv: "Predictor:" in drv.find_element(By.ID, "info").text)
            for f in a.file:
                d.find_element(By.ID, "file").send_keys(str(f.resolve()))
            wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, ".card .score")) == len(a.file))
            d.execute_script("document.querySelector('.card details').open = true")
            height = d.execute_script("return document.body.scrollHeight")
            d.set_window_size(1200, min(max(900, height + 40), 2400))
            a.out.parent.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(a.out))
            scores = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".card .score")]
            ranks = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".card .rank")]
            print(f"saved {a.out}: scores {scores}, ranks {ranks}")
        finally:
            d.quit()


if __name__ == "__main__":
    main()
