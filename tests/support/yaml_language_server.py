"""Talk to yaml-language-server (the server behind VS Code's YAML extension)
over its standard input and output, as an editor does: open a YAML file, read
the problems it publishes, ask what a hover shows and what completion offers.

Used by tests/test_schema_text_unit.py where the server is installed
(``npm install -g yaml-language-server``, or TRIALSIM_YAML_LANGUAGE_SERVER
naming its command); the tests are skipped, saying so, where it is not.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

ENV = "TRIALSIM_YAML_LANGUAGE_SERVER"


def command() -> list[str] | None:
    """The command that starts the server, or None when it is not installed."""
    if os.environ.get(ENV):
        return os.environ[ENV].split()
    found = shutil.which("yaml-language-server")
    return [found, "--stdio"] if found else None


class Server:
    """One yaml-language-server process, ended on leaving the ``with`` block."""

    def __init__(self, root: Path, settings: dict | None = None, timeout: float = 30.0):
        """``root``: the workspace folder; ``settings``: the ``yaml.*`` settings of settings.json
        (``{"yaml.schemas": {...}}``), as VS Code passes them to the server."""
        self.root = Path(root).resolve()
        self.timeout = timeout
        self.settings = {"validate": True, "hover": True, "completion": True}
        for key, value in (settings or {}).items():
            self.settings[key.removeprefix("yaml.")] = value
        self._messages: queue.Queue = queue.Queue()
        self._id = 0
        self._proc = subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> "Server":
        answer = self.request("initialize", {
            "processId": os.getpid(), "rootUri": self.root.as_uri(),
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}},
                             "workspace": {"configuration": True}}})
        assert "capabilities" in answer, answer
        self._send({"method": "initialized", "params": {}})
        self._send({"method": "workspace/didChangeConfiguration",
                    "params": {"settings": {"yaml": self.settings}}})
        return self

    def __exit__(self, *exc) -> None:
        self._proc.kill()
        self._proc.wait(timeout=10)

    # -- the protocol: Content-Length framed JSON-RPC --------------------------

    def _read(self) -> None:
        out = self._proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self._messages.put(json.loads(out.read(length)))

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self._proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self._proc.stdin.flush()

    def _wait(self, wanted) -> dict:
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            try:
                message = self._messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if message.get("method") == "workspace/configuration":     # the editor's settings
                self._send({"id": message["id"], "result": [self.settings] * len(message["params"]["items"])})
            elif "id" in message and "method" in message:               # any other request of the server
                self._send({"id": message["id"], "result": None})
            elif wanted(message):
                return message
        raise TimeoutError(f"yaml-language-server gave no answer within {self.timeout:g} s")

    def request(self, method: str, params: dict):
        self._id += 1
        ident = self._id
        self._send({"id": ident, "method": method, "params": params})
        return self._wait(lambda m: m.get("id") == ident and "method" not in m).get("result")

    # -- what an editor does ---------------------------------------------------

    def open(self, path: Path, text: str) -> list[tuple[int, str]]:
        """Open ``text`` as the file ``path``; its problems as (line from 1, message)."""
        uri = Path(path).resolve().as_uri()
        self._send({"method": "textDocument/didOpen",
                    "params": {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}})
        message = self._wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri)
        return [(d["range"]["start"]["line"] + 1, d["message"]) for d in message["params"]["diagnostics"]]

    def hover(self, path: Path, line: int, column: int) -> str:
        """What resting on (line from 1, column from 0) shows."""
        result = self.request("textDocument/hover", {"textDocument": {"uri": Path(path).resolve().as_uri()},
                                                     "position": {"line": line - 1, "character": column}})
        return (result or {}).get("contents", {}).get("value", "")

    def completion(self, path: Path, line: int, column: int) -> list[str]:
        result = self.request("textDocument/completion", {"textDocument": {"uri": Path(path).resolve().as_uri()},
                                                          "position": {"line": line - 1, "character": column}})
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        return [item["label"] for item in items]
