"""Headless Chromium driven over the Chrome DevTools Protocol, for the report's browser test.

A small synchronous client over ``websocket-client`` (no browser download: it
uses the system's ``chromium``, e.g. Debian's package). :func:`find_chromium`
says where one is, or why there is none; :class:`Chromium` starts it with a
fresh profile, no network (every host name resolves nowhere, the proxy is a
closed port) and the debugging port on localhost; :meth:`Chromium.page`
gives a :class:`Page` that records every network request the page makes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> tuple[str | None, str]:
    """(the browser's path, '') or (None, why not): TRIALSIM_CHROMIUM, then the usual names on PATH."""
    given = os.environ.get("TRIALSIM_CHROMIUM")
    if given:
        return (given, "") if Path(given).exists() else (None, f"TRIALSIM_CHROMIUM={given} does not exist")
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path, ""
    return None, ("no Chromium found (looked for " + ", ".join(NAMES) + " on PATH, and TRIALSIM_CHROMIUM); "
                  "on Debian: apt-get install chromium")


class CDPError(RuntimeError):
    pass


class Page:
    """One page target: send commands, wait for events; keeps every Network event."""

    def __init__(self, ws_url: str, timeout: float):
        import websocket  # deferred: only the browser test needs websocket-client

        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.timeout = timeout
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise CDPError(f"{method}: no answer in {self.timeout} s")

    def wait_for(self, method: str, since: int = 0) -> dict:
        """The first event ``method`` at or after position ``since`` of the events seen."""
        for e in self.events[since:]:
            if e["method"] == method:
                return e
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise CDPError(f"no {method} in {self.timeout} s")

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its load event (Page.enable first)."""
        since = len(self.events)
        res = self.send("Page.navigate", url=url)
        if res.get("errorText"):
            raise CDPError(f"cannot open {url}: {res['errorText']}")
        self.wait_for("Page.loadEventFired", since)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (awaited if a promise), as JSON."""
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise CDPError(f"JavaScript failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def requests(self) -> list[str]:
        """The URL of every request the page made (Network.requestWillBeSent)."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def failures(self) -> list[dict]:
        return [e["params"] for e in self.events if e["method"] == "Network.loadingFailed"]

    def print_pdf(self, **options) -> bytes:
        res = self.send("Page.printToPDF", **options)
        return base64.b64decode(res["data"])

    def close(self) -> None:
        self.ws.close()


class Chromium:
    """A headless Chromium of our own (fresh profile, no network), stopped on exit."""

    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="trialsim-chromium-")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> "Chromium":
        args = [self.path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                # nothing the page asks for can reach a network: names resolve nowhere, the proxy is closed
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                f"--user-data-dir={self.profile.name}", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "about:blank"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        active = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
                self.__exit__(None, None, None)
                raise CDPError(f"{self.path} exited with status {self.proc.returncode}: {err}")
            if active.exists() and active.read_text().strip():
                self.port = int(active.read_text().split()[0])
                break
            time.sleep(0.05)
        else:
            self.__exit__(None, None, None)
            raise CDPError(f"{self.path} did not open its debugging port in {self.timeout} s")
        return self

    def _json(self, what: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/{what}", timeout=self.timeout) as r:
            return json.loads(r.read())

    def version(self) -> str:
        return self._json("version").get("Browser", "")

    def page(self) -> Page:
        targets = [t for t in self._json("list") if t.get("type") == "page"]
        if not targets:
            raise CDPError("no page target")
        return Page(targets[0]["webSocketDebuggerUrl"], self.timeout)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)     # the browser we started and its own children
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.profile.cleanup()
