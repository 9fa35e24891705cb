"""Open a page in the system's headless Chromium and report what a reader would see.

Drives Chromium through the Chrome DevTools Protocol over ``--remote-debugging-pipe``
(JSON messages on file descriptors 3 and 4): no Python package and no browser download,
only a ``chromium`` (Debian's package) on PATH. Used by the browser test of the HTML run
report (tests/viz/test_report_browser.py) and by docs/scripts/make_report_screenshot.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The path of a Chromium on PATH (or $CHROMIUM), else None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


@dataclass
class PageCheck:
    images: list[dict[str, Any]]  # one per <img>: src (start), complete, naturalWidth, naturalHeight
    console_errors: list[str]  # console.error calls, uncaught exceptions, failed loads (Log entries of level error)
    screenshot: bytes  # PNG
    title: str = ""
    events: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, browser: str, user_dir: str) -> None:
        to_r, to_w = os.pipe()  # we write commands -> Chromium's fd 3
        from_r, from_w = os.pipe()  # Chromium writes replies -> fd 4
        args = [browser, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                f"--user-data-dir={user_dir}", "about:blank"]

        def child() -> None:  # in the child: our pipe ends become its fds 3 and 4 (inheritable after dup2)
            a, b = os.dup(to_r), os.dup(from_w)  # above 4, so neither dup2 overwrites the other end
            os.dup2(a, 3)
            os.dup2(b, 4)

        # close_fds=False: Python's own descriptors are non-inheritable and close at exec anyway;
        # close_fds=True would close 3 and 4 after preexec_fn has set them
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.out, self.inp = to_w, from_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"Chromium refused {method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited (status {self.proc.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.out)
        os.close(self.inp)


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description")))
                                                                for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            out.append("exception: " + str(p.get("exceptionDetails", {}).get("text")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
    return out


_IMAGES = ("JSON.stringify(Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete, "
           "naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight})))")


def check_page(path: str | Path, width: int = 1200, height: int = 900, full_page: bool = False,
               browser: str | None = None) -> PageCheck:
    """Load ``path`` (a local HTML file) in headless Chromium; its images, console errors and a PNG screenshot."""
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("no chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="rnnkit-chromium-") as user_dir:
        pipe = _Pipe(browser, user_dir)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
            pipe.wait_event("Page.loadEventFired")
            images = json.loads(pipe.send("Runtime.evaluate", {"expression": _IMAGES, "returnByValue": True},
                                          session=session)["result"]["value"])
            title = pipe.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
                              session=session)["result"]["value"]
            params: dict[str, Any] = {"format": "png"}
            if full_page:
                size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
                params.update(captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1})
            shot = base64.b64decode(pipe.send("Page.captureScreenshot", params, session=session)["data"])
            return PageCheck(images, _errors(pipe.events), shot, title,
                             [str(e.get("method")) for e in pipe.events])
        finally:
            pipe.close()
