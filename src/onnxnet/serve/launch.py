"""``onnxnet serve`` as a child process on a free loopback port (used by the tests and the benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from onnxnet.errors import OnnxNetError


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """Start with ``ServerProcess(predictor, log_dir, *options).wait()``; ``url``; ``stop()`` (or use ``with``)."""

    def __init__(self, predictor: str | os.PathLike[str], log_dir: str | os.PathLike[str], *options: str,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        src = Path(__file__).resolve().parents[2]  # the source tree this module runs from goes first
        child_env = {**os.environ, **(env or {}), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                     "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.log_path = Path(log_dir) / f"server-{self.port}.log"
        self.log = open(self.log_path, "w+")
        args: Sequence[str] = ["serve", "--predictor", str(predictor), "--port", str(self.port), *options]
        self.proc = subprocess.Popen([sys.executable, "-m", "onnxnet.cli.main", *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=child_env)

    def wait(self, timeout: float = 300.0) -> "ServerProcess":
        """Block until ``/health`` answers (``timeout`` is a ceiling for a loaded machine; ~5 s when quiet)."""
        import httpx

        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise OnnxNetError(f"the server exited with code {self.proc.returncode}: {self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise OnnxNetError(f"the server did not answer within {timeout:g} s: {self.output()[-3000:]}")

    def output(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()

    def __enter__(self) -> "ServerProcess":
        return self.wait()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def chromium_paths(install: bool = True) -> tuple[str, str]:
    """Paths of Debian's ``chromium`` and ``chromedriver``; installs the two packages with apt-get when they are
    missing and ``install`` (root, Debian registry reachable). Raises ``OnnxNetError`` saying why otherwise."""
    import shutil

    def found() -> tuple[str | None, str | None]:
        return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")

    browser, driver = found()
    if not (browser and driver) and install and shutil.which("apt-get"):
        try:
            subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True,
                           capture_output=True, timeout=900,
                           env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        except (OSError, subprocess.SubprocessError) as e:
            raise OnnxNetError(f"chromium and chromium-driver are missing and apt-get could not install them "
                               f"({type(e).__name__}); install them (apt-get install chromium chromium-driver)") from None
        browser, driver = found()
    if not (browser and driver):
        raise OnnxNetError("chromium and chromium-driver are not installed (and there is no apt-get here); "
                           "install them to drive the page in a browser")
    return browser, driver  # type: ignore[return-value]


def headless_chromium(width: int = 1200, height: int = 900) -> Any:
    """A selenium ``webdriver.Chrome`` on headless Debian Chromium (``chromium_paths``); ``quit()`` it after use."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    path, driver = chromium_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = path
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(driver), options=opts)
