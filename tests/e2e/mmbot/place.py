#!/usr/bin/env python3
"""place.py PORT N PREFIX: places N resting PostOnly Buy orders on bybit-sim's BTCUSDT, with
orderLinkIds PREFIX0..PREFIX(N-1), signed as Bybit v5 wants (the key and the secret come from
BYBIT_API_KEY / BYBIT_API_SECRET, never argv). Retries 10006 (the rate limit) for up to 30 s.
Prints the number placed."""
import hashlib, hmac, json, os, sys, time, urllib.request

port, n, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
key, secret = os.environ["BYBIT_API_KEY"], os.environ["BYBIT_API_SECRET"].encode()


def post(path, body):
    ts, rw = str(int(time.time() * 1000)), "5000"
    raw = json.dumps(body, separators=(",", ":"))
    sign = hmac.new(secret, (ts + key + rw + raw).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=raw.encode(), method="POST",
                                 headers={"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts,
                                          "X-BAPI-RECV-WINDOW": rw, "X-BAPI-SIGN": sign,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


placed, deadline = 0, time.time() + 30
for i in range(n):
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
            "qty": "0.001", "price": str(30000 + i), "timeInForce": "PostOnly",
            "orderLinkId": f"{prefix}{i}"}
    while True:
        rep = post("/v5/order/create", body)
        if rep["retCode"] == 0:
            placed += 1
            break
        if rep["retCode"] != 10006 or time.time() > deadline:
            sys.exit(f"place.py: create {prefix}{i}: retCode {rep['retCode']} {rep['retMsg']}")
        time.sleep(0.2)
print(placed)
