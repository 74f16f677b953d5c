"""Cortex conformance: drive `epocd serve` the way the official Cortex Python example does,
with the same library (websocket-client), over wss with epocd's generated CA.

Usage: python cortex_flow.py PATH/TO/epocd
Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.
"""
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

import websocket

CHECKS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    CHECKS["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + (f"  ({detail})" if detail and not ok else ""), flush=True)
    return ok


class Client:
    def __init__(self, url, ca):
        # Exactly the example's TLS settings: only this CA, hostname checked.
        self.ws = websocket.create_connection(url, sslopt={"ca_certs": ca, "cert_reqs": ssl.CERT_REQUIRED}, timeout=10)
        self.pending = []

    def call(self, rid, method, params=None):
        req = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            req["params"] = params
        self.ws.send(json.dumps(req, indent=4))  # the example sometimes pretty-prints
        while True:
            msg = json.loads(self.ws.recv())
            if "id" in msg and msg["id"] == rid:
                return msg
            self.pending.append(msg)

    def wait_warning(self, code, timeout=15):
        deadline = time.time() + timeout
        for i, m in enumerate(self.pending):
            if m.get("warning", {}).get("code") == code:
                return self.pending.pop(i)
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("warning", {}).get("code") == code:
                return msg
            self.pending.append(msg)
        return None


def connected_app(line, data, client_id):
    """A Client on the daemon that printed `line`, an authorized token for `client_id`, and the
    id of its first headset once connected (None if none connects within 10 s)."""
    port = line.rsplit(":", 1)[1]
    c = Client(f"wss://localhost:{port}", os.path.join(data, "tls", "epocd-ca.pem"))
    cid = {"clientId": client_id, "clientSecret": "secret"}
    c.call(1, "requestAccess", cid)
    token = c.call(2, "authorize", dict(cid, license=""))["result"]["cortexToken"]
    for _ in range(50):
        hs = c.call(3, "queryHeadsets", {})["result"]
        if hs and hs[0]["status"] == "connected":
            return c, token, hs[0]["id"]
        time.sleep(0.2)
    return c, token, None


@contextlib.contextmanager
def serve(binary, prefix, extra=(), data=None):
    """`epocd serve` with one virtual headset on a free loopback port, over wss, with its own
    data dir (or `data`) and no config file; `extra` adds arguments. Yields (process, its URL
    line, data dir); SIGTERM at the end."""
    data = data or tempfile.mkdtemp(prefix=prefix)
    proc = subprocess.Popen(
        [binary, "serve", "--virtual", "1", "--listen", "127.0.0.1:0", "--data-dir", data, "--no-hotplug",
         "--ble-scan", "0", "--config", "/dev/null", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc, proc.stdout.readline().strip(), data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def serve_script(binary, label, script_text):
    """`serve` with the virtual headset acting out `script_text` (a virtual-script file in a
    fresh data dir). Yields (its URL line, data dir)."""
    data = tempfile.mkdtemp(prefix=f"epocd-{label}-")
    path = os.path.join(data, f"{label}.script")
    with open(path, "w") as f:
        f.write(script_text)
    with serve(binary, "", extra=["--virtual-script", path], data=data) as (_proc, line, _):
        yield line, data


def finish(label):
    """Print the tally (the test command sums every "N passed" line) and exit with it."""
    print(f"{label}: {CHECKS['passed']} passed, {CHECKS['failed']} failed")
    sys.exit(1 if CHECKS["failed"] else 0)


def main():
    binary = sys.argv[1]
    with serve(binary, "epocd-conformance-") as (proc, line, data):
        check("serve prints its URL", line.startswith("epocd: listening on wss://127.0.0.1:"), line)
        port = line.rsplit(":", 1)[1]
        c = Client(f"wss://localhost:{port}", os.path.join(data, "tls", "epocd-ca.pem"))
        cid = {"clientId": "com.example.conformance", "clientSecret": "secret"}

        r = c.call(20, "hasAccessRight", cid)
        check("hasAccessRight answers accessGranted", r["result"]["accessGranted"] is False, r)
        r = c.call(3, "requestAccess", cid)
        # The example authorizes at once on `true`, and on warning 9 after `false`.
        granted = r["result"]["accessGranted"] is True or c.wait_warning(9, timeout=5) is not None
        check("requestAccess grants a local app (true, or false then warning 9)", granted, r)
        r = c.call(4, "authorize", dict(cid, license="", debit=10))
        token = r.get("result", {}).get("cortexToken")
        check("authorize with an empty license gives a token", isinstance(token, str) and len(token) >= 32, r)

        c.call(25, "controlDevice", {"command": "refresh"})
        w = c.wait_warning(142)
        check("warning 142 ends a refresh, message.behavior present", w is not None and "behavior" in w["warning"]["message"], w)
        headsets = []
        for _ in range(50):
            headsets = c.call(1, "queryHeadsets", {})["result"]
            if headsets and headsets[0]["status"] == "connected":
                break
            time.sleep(0.2)
        h = headsets[0] if headsets else {}
        check("queryHeadsets lists a connected headset", h.get("status") == "connected", headsets)
        check("headset object has id/status/connectedBy", all(k in h for k in ("id", "status", "connectedBy")), h)
        check("sensors and motionSensors are arrays", isinstance(h.get("sensors"), list) and isinstance(h.get("motionSensors"), list), h)

        r = c.call(5, "createSession", {"cortexToken": token, "headset": h["id"], "status": "active"})
        s = r.get("result", {})
        check("createSession(active) is activated", s.get("status") == "activated", r)
        check("session carries the full headset object", s.get("headset", {}).get("id") == h["id"], s)
        sid = s["id"]

        r = c.call(6, "subscribe", {"cortexToken": token, "session": sid, "streams": ["eeg", "mot", "dev", "pow"]})
        res = r.get("result", {})
        check("subscribe: success and failure arrays", isinstance(res.get("success"), list) and isinstance(res.get("failure"), list), r)
        cols = {x["streamName"]: x["cols"] for x in res.get("success", [])}
        check("all four streams subscribed", set(cols) == {"eeg", "mot", "dev", "pow"}, res)
        check("eeg cols end with MARKERS", cols.get("eeg", [None])[-1] == "MARKERS", cols.get("eeg"))
        check("eeg has 14 channels in display order", cols["eeg"][2:16] == ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"], cols["eeg"])
        check("dev cols nest the CQ list", isinstance(cols["dev"][2], list) and cols["dev"][2][-1] == "OVERALL", cols["dev"])
        check("pow has 70 cols", len(cols["pow"]) == 70, len(cols["pow"]))

        counts = {"eeg": 0, "mot": 0, "dev": 0, "pow": 0}
        bad = []
        deadline = time.time() + 20
        messages = c.pending
        c.pending = []
        while (counts["eeg"] < 256 or counts["pow"] == 0) and time.time() < deadline:
            msg = messages.pop(0) if messages else json.loads(c.ws.recv())
            if "sid" not in msg:
                continue
            if "id" in msg:
                bad.append("data sample with an id")
            for k in counts:
                if k in msg:
                    counts[k] += 1
                    values = msg[k]
                    if len(values) != len(cols[k]):
                        bad.append(f"{k}: {len(values)} values for {len(cols[k])} cols")
                    if k == "eeg":
                        markers = values.pop()  # what the example does, unconditionally
                        if not isinstance(markers, list):
                            bad.append("eeg without a trailing MARKERS array")
                        if not all(3000 < v < 5500 for v in values[2:16]):
                            bad.append(f"eeg values out of range: {values[2:16]}")
            if not isinstance(msg.get("time"), float):
                bad.append("time is not a float")
        check("at least 256 eeg samples arrive", counts["eeg"] >= 256, counts)
        check("mot, dev and pow samples arrive", counts["mot"] > 0 and counts["dev"] > 0 and counts["pow"] > 0, counts)
        check("every sample matches its cols, no id, float time", not bad, bad[:3])

        r = c.call(5, "updateSession", {"cortexToken": token, "session": sid, "status": "close"})
        check("updateSession close", r.get("result", {}).get("status") == "closed", r)
        c.ws.close()
    check("serve exits cleanly on SIGTERM", proc.returncode == 0, proc.returncode)
    finish("conformance")


if __name__ == "__main__":
    main()
