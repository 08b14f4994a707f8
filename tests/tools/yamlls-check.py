#!/usr/bin/env python3
"""Talks to yaml-language-server over stdio as an editor does: opens one
YAML file (whose modeline names the schema), and prints as one JSON object
the diagnostics the server publishes for it and the hover text at each
position asked for.

    yamlls-check.py SERVER FILE [LINE:COLUMN ...]    (0-based, as LSP counts)

Output: {"diagnostics": [{"line": N, "message": "..."}], "hovers": ["..."]}
"""
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading

server, path = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
positions = [tuple(int(x) for x in p.split(":")) for p in sys.argv[3:]]
# No schema store: the tests run without the network, and the modeline
# names the schema.
SETTINGS = {"yaml": {"validate": True, "hover": True, "completion": True,
                     "schemaStore": {"enable": False}, "format": {"enable": False}}}

proc = subprocess.Popen([server, "--stdio"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
inbox = queue.Queue()


def read_messages():
    out = proc.stdout
    while True:
        headers = {}
        while True:
            line = out.readline()
            if not line:
                inbox.put(None)
                return
            line = line.decode().strip()
            if not line:
                break
            key, value = line.split(":", 1)
            headers[key.lower()] = value.strip()
        inbox.put(json.loads(out.read(int(headers["content-length"]))))


threading.Thread(target=read_messages, daemon=True).start()


def send(message):
    message["jsonrpc"] = "2.0"
    data = json.dumps(message).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
    proc.stdin.flush()


last_id = 0


def request(method, params):
    global last_id
    last_id += 1
    send({"id": last_id, "method": method, "params": params})
    return last_id


def wait_for(wanted, timeout=60):
    """The next message `wanted` accepts; the server's own requests
    (configuration, registrations) are answered on the way."""
    while True:
        message = inbox.get(timeout=timeout)
        if message is None:
            sys.exit("yaml-language-server ended")
        if "method" in message and "id" in message:
            result = None
            if message["method"] == "workspace/configuration":
                result = [SETTINGS.get(item.get("section"), SETTINGS)
                          for item in message["params"]["items"]]
            send({"id": message["id"], "result": result})
        elif wanted(message):
            return message


uri = path.as_uri()
init = request("initialize", {
    "processId": os.getpid(),
    "rootUri": path.parent.as_uri(),
    "capabilities": {
        "workspace": {"configuration": True},
        "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                         "publishDiagnostics": {}},
    },
    "initializationOptions": SETTINGS,
})
wait_for(lambda m: m.get("id") == init)
send({"method": "initialized", "params": {}})
send({"method": "workspace/didChangeConfiguration", "params": {"settings": SETTINGS}})
send({"method": "textDocument/didOpen", "params": {"textDocument": {
    "uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text()}}})
published = wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                     and m["params"]["uri"] == uri)
hovers = []
for line, column in positions:
    asked = request("textDocument/hover", {"textDocument": {"uri": uri},
                                           "position": {"line": line, "character": column}})
    contents = (wait_for(lambda m: m.get("id") == asked).get("result") or {}).get("contents", "")
    hovers.append(contents.get("value", "") if isinstance(contents, dict) else str(contents))
print(json.dumps({
    "diagnostics": [{"line": d["range"]["start"]["line"], "message": d["message"]}
                    for d in published["params"]["diagnostics"]],
    "hovers": hovers,
}))
request("shutdown", None)
send({"method": "exit"})
proc.wait(timeout=10)
