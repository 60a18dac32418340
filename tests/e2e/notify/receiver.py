#!/usr/bin/env python3
"""A local stand-in for Telegram's Bot API and for webhooks, on 127.0.0.1 only.

receiver.py MODE PORTFILE LOGFILE [LIFETIME_S]
  MODE  ok    answer 200 {"ok": true} and log the request
        fail  answer 500 and log the request
        hang  log the request and never answer (until the lifetime ends)
Each request is one JSON line in LOGFILE: {"path": ..., "body": <the JSON body>}.
The server exits by itself after LIFETIME_S (default 120 s)."""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        with lock, open(logfile, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        if mode == "hang":
            time.sleep(lifetime)
            return
        code = 200 if mode == "ok" else 500
        out = b'{"ok": true}' if code == 200 else b'{"ok": false}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
threading.Timer(lifetime, lambda: os._exit(0)).start()
srv.serve_forever()
