"""LSL conformance: pylsl (the reference liblsl underneath) reads epocd's outlets.

A replayed capture (hemokit's EPOC dump, whose decoding hemokit published) is served with
`epocd serve --lsl`; a pylsl inlet finds its EEG stream by source_id, checks the metadata and
that every value equals hemokit's decoding (float32 rounding) with timestamps 1/128 s apart on
LSL's clock; a marker injected through the Cortex API arrives on the Markers outlet stamped at
the marker's time, next to the EEG sample it falls on.

Runs only with the loopback-only LSLAPICFG (scripts/conformance/lsl_api.cfg).

Usage: LSLAPICFG=scripts/conformance/lsl_api.cfg python lsl_flow.py PATH/TO/epocd
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import pylsl
import websocket

from cortex_flow import check, finish

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DUMP = os.path.join(REPO, "tests", "data", "hemokit", "recording-1-truncated.dump")
TRUTH = os.path.join(REPO, "tests", "data", "hemokit", "hemokit_recording-1-truncated.expected.csv")
SERIAL = "SN201211154288GM"
DISPLAY = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]


def serve(binary, *args, prefix="epocd-lsl-"):
    """`epocd serve` over plain ws:// with its own data dir and no config: (process, URL)."""
    data = tempfile.mkdtemp(prefix=prefix)
    proc = subprocess.Popen(
        [binary, "serve", "--no-tls", "--listen", "127.0.0.1:0", "--data-dir", data, "--no-hotplug", "--ble-scan",
         "0", "--config", "/dev/null", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip().rsplit(" ", 1)[-1]


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


class Cortex:
    """A Cortex client over ws:// with an authorized app."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url)
        self.n = 0
        app = {"clientId": "com.example.lsl", "clientSecret": "secret"}
        self.call("requestAccess", app)
        self.token = self.call("authorize", app)["result"]["cortexToken"]

    def call(self, method, params=None):
        self.n += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params or {}}))
        while True:
            r = json.loads(self.ws.recv())
            if r.get("id") == self.n:
                return r

    def session(self, headset):
        return self.call("createSession", {"cortexToken": self.token, "headset": headset,
                                           "status": "active"})["result"]["id"]


def hemokit_rows():
    with open(TRUTH) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [[int(r[ch]) * 0.51 for ch in DISPLAY] for r in rows]


def resolve(source_id):
    found = pylsl.resolve_byprop("source_id", source_id, timeout=10)
    return found[0] if found else None


def channels(info):
    out, ch = [], info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit"), ch.child_value("type")))
        ch = ch.next_sibling()
    return out


def two_headsets_and_a_reconnect(binary):
    """Two virtual headsets: two EEG outlets with their own source_ids, neither losing a
    sample; then one is disconnected and connected again through the Cortex API, and an inlet
    on its source_id recovers."""
    proc, url = serve(binary, "--lsl", "--virtual", "2", prefix="epocd-lsl-two-")
    try:
        deadline = time.time() + 10
        infos = []
        while len(infos) < 2 and time.time() < deadline:
            infos = pylsl.resolve_byprop("type", "EEG", minimum=2, timeout=5)
        ids = sorted(i.source_id() for i in infos)
        check("two headsets: two EEG outlets with distinct source_ids", len(set(ids)) == 2, ids)
        if len(ids) < 2:
            return
        inlets = [pylsl.StreamInlet(i, recover=True) for i in infos]
        got = [[], []]
        end = time.time() + 4
        while time.time() < end:
            for k, inlet in enumerate(inlets):
                _, ts = inlet.pull_chunk(timeout=0.05)
                got[k] += ts
        for k, ts in enumerate(got):
            worst = max((abs(b - a - 1 / 256) for a, b in zip(ts, ts[1:])), default=1)
            check(f"two headsets: outlet {k + 1} delivers every sample (no gap)", len(ts) > 700 and worst < 1e-4,
                  (len(ts), worst))

        cortex = Cortex(url)
        call, token = cortex.call, cortex.token
        listed = call("queryHeadsets")["result"]
        headset = sorted(h["id"] for h in listed)[0]
        mems = {h["settings"]["memsRate"] for h in listed}
        motion = pylsl.resolve_byprop("type", "Motion", minimum=2, timeout=5)
        check("motion outlets declare the headsets' motion rate (memsRate)",
              len(motion) == 2 and {m.nominal_srate() for m in motion} == {float(r) for r in mems} and
              all(m.nominal_srate() > 0 for m in motion), ([m.nominal_srate() for m in motion], mems))
        target = next(k for k, i in enumerate(infos) if i.name().startswith(headset))
        call("controlDevice", {"cortexToken": token, "command": "disconnect", "headset": headset})
        time.sleep(1.0)
        call("controlDevice", {"command": "connect", "headset": headset})
        after = []
        end = time.time() + 15
        while len(after) < 256 and time.time() < end:
            _, ts = inlets[target].pull_chunk(timeout=0.5)
            after += ts
        check("reconnect: the inlet on the same source_id recovers and receives again", len(after) >= 256,
              len(after))
        again = pylsl.resolve_byprop("source_id", infos[target].source_id(), timeout=5)
        check("reconnect: the same source_id is published again", len(again) == 1, len(again))
        cortex.ws.close()
    finally:
        stop(proc)


def markers_into_records(binary):
    """A pylsl marker outlet (what PsychoPy or LSL4Unity make) named in --lsl-marker-stream:
    its markers go into the record in progress, on the sample nearest their LSL time; one sent
    while nothing records is dropped."""
    import glob
    import pyedflib
    name = "epocd-test-PsychoPy"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, pylsl.cf_string, "psychopy-test-1"))
    proc, url = serve(binary, "--lsl-marker-stream", name, "--virtual", "1", prefix="epocd-lsl-in-")
    try:
        check("markers in: epocd opens an inlet on the named stream", outlet.wait_for_consumers(15))
        cortex = Cortex(url)
        call, token = cortex.call, cortex.token
        time.sleep(1.0)
        headset = call("queryHeadsets")["result"][0]["id"]
        sid = call("createSession", {"cortexToken": token, "headset": headset, "status": "active"})["result"]["id"]
        outlet.push_sample(["before"], pylsl.local_clock())
        time.sleep(0.5)
        rid = call("createRecord", {"cortexToken": token, "session": sid, "title": "lsl in"})["result"]["record"]["uuid"]
        time.sleep(1.0)
        sent_at = time.time()
        outlet.push_sample(["go"], pylsl.local_clock())
        time.sleep(1.0)
        call("stopRecord", {"cortexToken": token, "session": sid})
        folders = {}
        for fmt, version in [("CSV", "V2"), ("EDFPLUS", None)]:
            folder = tempfile.mkdtemp(prefix="epocd-lsl-export-")
            params = {"cortexToken": token, "recordIds": [rid], "folder": folder, "streamTypes": ["EEG"], "format": fmt}
            if version:
                params["version"] = version
            r = call("exportRecord", params)
            check(f"markers in: export {fmt}", r.get("result", {}).get("failure") == [], r)
            folders[fmt] = folder
        csv_path = [p for p in glob.glob(os.path.join(folders["CSV"], "*.csv")) if not p.endswith("_intervalMarker.csv")][0]
        with open(csv_path) as f:
            f.readline()
            rows = list(csv.reader(f))
        cols, rows = rows[0], rows[1:]
        mi, ts = cols.index("MarkerIndex"), cols.index("Timestamp")
        marked = [r for r in rows if r[mi]]
        check("markers in: exactly the marker sent while recording is in the record", len(marked) == 1, len(marked))
        with open(csv_path.replace(".md.csv", "_intervalMarker.csv")) as f:
            im = list(csv.reader(f))
        check("markers in: its label is the LSL text", len(im) == 2 and im[1][2] == "go", im)
        if marked:
            at = float(marked[0][ts])
            nearest = min(abs(float(r[ts]) - sent_at) for r in rows)
            check("markers in: CSV V2 puts it on the sample nearest its LSL time",
                  abs(at - sent_at) <= nearest + 1 / 256 + 0.005, (at - sent_at, nearest))
        edf = glob.glob(os.path.join(folders["EDFPLUS"], "*.edf"))[0]
        with pyedflib.EdfReader(edf) as f:
            onsets, _, texts = f.readAnnotations()
        first = float(rows[0][ts])
        got = [o for o, t in zip(onsets, texts) if t == "go"]
        check("markers in: an EDF+ annotation at its time", len(got) == 1 and abs(got[0] - (sent_at - first)) < 0.02,
              (got, sent_at - first))
        cortex.ws.close()
    finally:
        stop(proc)


def timestamp_quality(binary):
    """Over 10 s of a virtual headset (256 Hz), consecutive EEG stamps are one period apart
    and the stream's clock is this machine's (time_correction near zero)."""
    proc, url = serve(binary, "--lsl", "--lsl-band-power", "--virtual", "1", prefix="epocd-lsl-virtual-")
    try:
        power = pylsl.resolve_byprop("type", "BandPower", timeout=10)
        check("band power (asked for): an outlet of 70 channels at 8 Hz", bool(power) and
              (power[0].channel_count(), power[0].nominal_srate()) == (70, 8.0),
              power and (power[0].channel_count(), power[0].nominal_srate()))
        power_inlet = pylsl.StreamInlet(power[0]) if power else None
        if power_inlet is not None:
            power_inlet.open_stream(timeout=5)
        info = pylsl.resolve_byprop("type", "EEG", timeout=10)
        check("pylsl resolves the virtual headset's EEG outlet", bool(info))
        if not info:
            return
        inlet = pylsl.StreamInlet(info[0])
        check("virtual EEG: 256 Hz, source_id from the serial",
              info[0].nominal_srate() == 256 and info[0].source_id().startswith("epocd-") and
              info[0].source_id().endswith("-eeg"), (info[0].nominal_srate(), info[0].source_id()))
        stamps = []
        deadline = time.time() + 25
        while len(stamps) < 10 * 256 + 1 and time.time() < deadline:
            _, ts = inlet.pull_chunk(timeout=0.5)
            stamps += ts
        check("virtual EEG: 10 s of samples", len(stamps) >= 10 * 256 + 1, len(stamps))
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        worst = max((abs(g - 1 / 256) for g in gaps), default=1)
        check("virtual EEG: consecutive stamps 1/256 s apart (jitter under 0.1 ms)", worst < 1e-4, worst)
        if power_inlet is not None:
            labels = [c[0] for c in channels(power_inlet.info(timeout=5))]
            check("band power: labels as the Cortex pow stream's cols", labels[:2] == ["AF3/theta", "AF3/alpha"]
                  and labels[-1] == "AF4/gamma", labels[:2])
            values, _ = power_inlet.pull_chunk(timeout=2.0, max_samples=1000)
            check("band power: 8 values a second arrive", len(values) >= 8 * 8, len(values))
            if values:
                # The virtual headset's ground truth: a 10 Hz rhythm weighted to O1 and O2.
                o1 = labels.index("O1/theta")
                last = values[-1][o1:o1 + 5]
                check("band power: O1's strongest band is alpha (the virtual headset's 10 Hz)",
                      max(range(5), key=lambda k: last[k]) == 1, last)
        correction = inlet.time_correction(timeout=5)
        check("virtual EEG: time_correction() near zero on one machine", abs(correction) < 0.001, correction)
    finally:
        stop(proc)


def main():
    if not os.environ.get("LSLAPICFG"):
        sys.exit("LSLAPICFG must name the loopback-only config (scripts/conformance/lsl_api.cfg)")
    binary = sys.argv[1]
    proc, url = serve(binary, "--lsl", "--replay", DUMP, "--serial", SERIAL, prefix="epocd-lsl-")
    try:
        info = resolve(f"epocd-{SERIAL}-eeg")
        check("pylsl resolves the EEG outlet by source_id", info is not None)
        if info is None:
            return
        inlet = pylsl.StreamInlet(info)
        full = inlet.info(timeout=5)
        check("EEG: 14 float32 channels at 128 Hz, type EEG",
              (full.channel_count(), full.nominal_srate(), full.type(), full.channel_format()) ==
              (14, 128.0, "EEG", pylsl.cf_float32),
              (full.channel_count(), full.nominal_srate(), full.type(), full.channel_format()))
        check("EEG: labels in 10-20 display order, microvolts, type EEG",
              channels(full) == [(c, "microvolts", "EEG") for c in DISPLAY], channels(full)[:3])
        acq = full.desc().child("acquisition")
        check("EEG: acquisition names the manufacturer, model and serial",
              (acq.child_value("manufacturer"), acq.child_value("model"), acq.child_value("serial_number")) ==
              ("EMOTIV", "EPOC", SERIAL), acq.child_value("model"))
        check("EEG: reference CMS/DRL", full.desc().child("reference").child_value("label") == "CMS")

        # A marker through the Cortex API, while the inlet reads.
        cortex = Cortex(url)
        call, token = cortex.call, cortex.token
        headset = call("queryHeadsets")["result"][0]["id"]
        sid = call("createSession", {"cortexToken": token, "headset": headset, "status": "active"})["result"]["id"]
        call("createRecord", {"cortexToken": token, "session": sid, "title": "lsl"})
        marker_info = resolve(f"epocd-{SERIAL}-markers")
        check("pylsl resolves the Markers outlet by source_id", marker_info is not None)
        if marker_info is None:
            return
        markers = pylsl.StreamInlet(marker_info)
        markers.open_stream(timeout=5)

        samples, stamps = [], []
        marker = None
        deadline = time.time() + 20
        injected = False
        injected_at = 0.0
        while len(samples) < 400 and time.time() < deadline:
            chunk, ts = inlet.pull_chunk(timeout=0.5)
            samples += chunk
            stamps += ts
            if len(samples) > 150 and not injected:
                injected = True
                injected_at = time.time()
                call("injectMarker", {"cortexToken": token, "session": sid, "time": time.time() * 1000,
                                      "value": 7, "label": "stim_on"})
            if injected and marker is None:
                m, t = markers.pull_sample(timeout=0.0)
                if m is not None:
                    marker = (m[0], t)
        if marker is None:
            m, t = markers.pull_sample(timeout=5)
            marker = (m[0], t) if m is not None else None
        check("EEG: at least 400 samples in 20 s", len(samples) >= 400, len(samples))

        truth = hemokit_rows()
        # Aligned on the first 8 samples, not 1: the capture's first two rows are equal.
        same = lambda s, row: all(abs(a - b) < 0.01 for a, b in zip(s, row))
        start = next((i for i in range(len(truth))
                      if all(same(s, truth[(i + k) % len(truth)]) for k, s in enumerate(samples[:8]))), None)
        check("EEG: the first samples are consecutive rows of the capture", start is not None, samples[0][:3])
        if start is not None:
            bad = [k for k, s in enumerate(samples) if not same(s, truth[(start + k) % len(truth)])]
            check("EEG: every value equals hemokit's decoding (float32), none lost or invented", not bad,
                  (start, bad[:5]))
        # Spacing is checked on a virtual headset below: this replay loops, and at the loop the
        # capture's counter jumps, which the sample clock takes as lost samples.
        check("EEG: timestamps near LSL's local clock", abs(stamps[-1] - pylsl.local_clock()) < 2.0,
              stamps[-1] - pylsl.local_clock())
        check("Markers: the injected marker arrives with its label", marker is not None and marker[0] == "stim_on",
              marker)
        if marker is not None:
            nearest = min(abs(t - marker[1]) for t in stamps)
            check("Markers: stamped exactly as the EEG sample it falls on", nearest < 1e-6, nearest)
            check("Markers: and that sample is within half a period of the marker's time",
                  abs(marker[1] - (pylsl.local_clock() - (time.time() - injected_at))) < 1 / 256 + 0.05,
                  marker[1])
        cortex.ws.close()
    finally:
        stop(proc)
    timestamp_quality(binary)
    two_headsets_and_a_reconnect(binary)
    markers_into_records(binary)
    finish("lsl conformance")


if __name__ == "__main__":
    main()
