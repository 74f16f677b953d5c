"""Record conformance: record through `epocd serve` the way the official Cortex example's
record.py and marker.py do (websocket-client over wss), export the record as CSV V2, EDF,
EDF+ and BDF+, then open every file with real readers: the csv module, pyedflib and MNE.
Channel names, sample rates, values (within the format's resolution, against the CSV's µV)
and annotations (the injected markers) must equal what was recorded.

Usage: python record_flow.py PATH/TO/epocd
"""
import csv
import glob
import json
import os
import sys
import tempfile
import time

import mne
import numpy as np
import pyedflib

from cortex_flow import check, connected_app, finish, serve

DISPLAY = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]
HEADER_KEYS = ["title", "start timestamp", "stop timestamp", "headset type", "headset serial",
               "headset firmware", "channels", "sampling rate", "samples", "version"]
STEP_UV = 0.128205128205129  # one 16-bit ADC step


def record(c, token, headset):
    sid = c.call(5, "createSession", {"cortexToken": token, "headset": headset, "status": "active"})["result"]["id"]
    r = c.call(6, "createRecord", {"cortexToken": token, "session": sid, "title": "conformance", "description": "d",
                                   "tags": ["t1"]})
    rec = r.get("result", {}).get("record", {})
    check("createRecord: result.record has uuid, title, startDatetime and a tags array",
          all(k in rec for k in ("uuid", "title", "startDatetime")) and isinstance(rec.get("tags"), list), r)
    time.sleep(1.0)
    r = c.call(7, "injectMarker", {"cortexToken": token, "session": sid, "time": time.time() * 1000, "value": 7,
                                   "label": "stim_on", "port": "conformance"})
    check("injectMarker: an instance marker", r.get("result", {}).get("marker", {}).get("type") == "instance", r)
    time.sleep(0.8)
    t = time.time() * 1000
    r = c.call(8, "injectMarker", {"cortexToken": token, "session": sid, "time": t, "value": "go", "label": "trial"})
    mid = r["result"]["marker"]["uuid"]
    r = c.call(9, "updateMarker", {"cortexToken": token, "session": sid, "markerId": mid, "time": t + 500})
    check("updateMarker: the marker becomes an interval", r.get("result", {}).get("marker", {}).get("type") == "interval", r)
    time.sleep(1.2)
    r = c.call(10, "stopRecord", {"cortexToken": token, "session": sid})
    check("stopRecord: result.record.endDatetime is set", r.get("result", {}).get("record", {}).get("endDatetime"), r)
    w = c.wait_warning(30)
    check("warning 30 names the stopped record", w is not None and w["warning"]["message"].get("recordId") == rec["uuid"], w)
    return rec["uuid"]


def export(c, token, rid, fmt, streams, version=None):
    folder = tempfile.mkdtemp(prefix=f"epocd-export-{fmt.lower()}-")
    params = {"cortexToken": token, "recordIds": [rid], "folder": folder, "streamTypes": streams, "format": fmt}
    if version:
        params["version"] = version
    r = c.call(11, "exportRecord", params)
    ok = [s.get("recordId") for s in r.get("result", {}).get("success", [])] == [rid]
    check(f"exportRecord {fmt} {version or ''} succeeds", ok, r)
    return folder


def read_csv(folder):
    path = [p for p in glob.glob(os.path.join(folder, "*.csv")) if not p.endswith("_intervalMarker.csv")][0]
    with open(path, newline="") as f:
        first = f.readline().strip().rstrip(",")
        header = dict(kv.split(":", 1) for kv in [x.strip() for x in first.split(", ")] if ":" in kv)
        rows = list(csv.reader(f))
    return header, rows[0], rows[1:], path


def dense_markers(c, token, headset):
    """Markers denser and longer than one data record's default annotation room: every one
    must be read back from EDF+ and BDF+ (an earlier epocd dropped them and said success)."""
    # The session record() used is still open on this headset: record in it again.
    sid = c.call(41, "querySessions", {"cortexToken": token})["result"][0]["id"]
    c.call(42, "createRecord", {"cortexToken": token, "session": sid, "title": "dense markers"})
    t0 = time.time() * 1000
    time.sleep(2.5)
    labels = {}
    for k in range(200):  # 200 markers in 2 s (100 a second), 60-character labels
        label = f"m{k:03d}-" + "x" * 55
        labels[label] = 1
        c.call(100 + k, "injectMarker", {"cortexToken": token, "session": sid, "time": t0 + 200 + 10 * k,
                                          "value": k, "label": label})
    long_label = "L" * 600
    c.call(99, "injectMarker", {"cortexToken": token, "session": sid, "time": t0 + 1000, "value": 1, "label": long_label})
    labels[long_label] = 1
    time.sleep(0.5)
    r = c.call(43, "stopRecord", {"cortexToken": token, "session": sid})
    rid = r["result"]["record"]["uuid"]
    for fmt, ext, reader in [("EDFPLUS", "edf", mne.io.read_raw_edf), ("BDFPLUS", "bdf", mne.io.read_raw_bdf)]:
        folder = export(c, token, rid, fmt, ["EEG", "MOTION"])
        path = glob.glob(os.path.join(folder, f"*.{ext}"))[0]
        with pyedflib.EdfReader(path) as f:
            _, _, texts = f.readAnnotations()
        dense = [t for t in texts if t in labels and t != long_label]
        check(f"{fmt} pyedflib: all 200 dense markers are annotations", len(dense) == 200, len(dense))
        # edflib (under pyedflib) keeps 512 characters of an annotation; MNE reads it whole.
        check(f"{fmt} pyedflib: the 600-character label is there", any(t.startswith("L" * 500) for t in texts),
              max(map(len, texts), default=0))
        raw = reader(path, preload=False, verbose="ERROR")
        check(f"{fmt} MNE: the 600-character label is whole", long_label in set(raw.annotations.description),
              max(map(len, raw.annotations.description), default=0))


def main():
    binary = sys.argv[1]
    with serve(binary, "epocd-records-") as (_proc, line, data):
        c, token, headset = connected_app(line, data, "com.example.records")
        rid = record(c, token, headset)

        # CSV V2, as record.py asks for it.
        header, cols, rows, csv_path = read_csv(export(c, token, rid, "CSV", ["EEG", "MOTION", "PM", "BP"], "V2"))
        check("CSV line 1 has every documented key", all(k in header for k in HEADER_KEYS), sorted(header))
        check("CSV: channels equals the column count", int(header.get("channels", -1)) == len(cols), (header.get("channels"), len(cols)))
        check("CSV: samples equals the row count", int(header.get("samples", "-1").strip()) == len(rows), (header.get("samples"), len(rows)))
        want = ["Timestamp", "EEG.Counter", "EEG.Interpolated"] + [f"EEG.{s}" for s in DISPLAY] + [
            "MarkerIndex", "MarkerType", "MarkerValueInt", "CQ.Overall", "MOT.CounterMems", "POW.AF3.Theta", "POW.AF4.Gamma"]
        check("CSV line 2 has the documented columns", all(w in cols for w in want), [w for w in want if w not in cols])
        check("CSV: every row has every column", all(len(r) == len(cols) for r in rows))
        ix = [cols.index(f"EEG.{s}") for s in DISPLAY]
        csv_eeg = np.array([[float(r[i]) for i in ix] for r in rows])
        ts = np.array([float(r[cols.index("Timestamp")]) for r in rows])
        check("CSV: about 3 s of 256 Hz EEG, timestamps increasing", 600 <= len(rows) <= 1100 and np.all(np.diff(ts) > 0), len(rows))
        mi = cols.index("MarkerIndex")
        marked = [(k, r[mi], r[cols.index("MarkerType")], r[cols.index("MarkerValueInt")]) for k, r in enumerate(rows) if r[mi]]
        check("CSV: markers on their rows (instance, interval start, interval end)",
              [m[1:] for m in marked] == [("1", "1", "7"), ("2", "1", "2"), ("2", "2", "2")], marked)
        stim_row = marked[0][0] if marked else 0
        with open(csv_path.replace(".md.pm.fe.bp.csv", "_intervalMarker.csv")) as f:
            im = list(csv.reader(f))
        check("intervalMarker CSV: header and one row per marker",
              im[0] == ["latency", "duration", "type", "marker_value", "key", "timestamp", "marker_id"] and len(im) == 3, im[:1])

        # EDF+ and BDF+: pyedflib and MNE.
        for fmt, ext, reader in [("EDFPLUS", "edf", mne.io.read_raw_edf), ("BDFPLUS", "bdf", mne.io.read_raw_bdf)]:
            folder = export(c, token, rid, fmt, ["EEG", "MOTION"])
            path = glob.glob(os.path.join(folder, f"*.{ext}"))[0]
            with pyedflib.EdfReader(path) as f:
                labels = f.getSignalLabels()
                check(f"{fmt} pyedflib: 14 EEG channels in display order, then CQ and motion",
                      labels[:14] == DISPLAY and "CQ_AF3" in labels and "ACCX" in labels, labels)
                check(f"{fmt} pyedflib: EEG at 256 Hz, motion at 64 Hz",
                      f.getSampleFrequency(0) == 256 and f.getSampleFrequency(labels.index("ACCX")) == 64,
                      (f.getSampleFrequency(0), f.getSampleFrequency(labels.index("ACCX"))))
                edf = np.array([f.readSignal(i)[: len(csv_eeg)] for i in range(14)]).T
                diff = np.abs(edf - csv_eeg).max()
                check(f"{fmt} pyedflib: every EEG value equals the CSV within one ADC step", diff <= STEP_UV, diff)
                onsets, durations, texts = f.readAnnotations()
                ann = dict(zip(texts, zip(onsets, durations)))
                check(f"{fmt} pyedflib: markers are annotations", "stim_on" in ann and "trial" in ann, list(texts))
                if "stim_on" in ann:
                    check(f"{fmt}: stim_on annotation on the marker's sample", abs(ann["stim_on"][0] - stim_row / 256) <= 1 / 256 + 1e-6,
                          (ann["stim_on"][0], stim_row / 256))
                if "trial" in ann:
                    check(f"{fmt}: trial annotation lasts 0.5 s", abs(ann["trial"][1] - 0.5) <= 2 / 256, ann["trial"])
            raw = reader(path, preload=True, verbose="ERROR")
            check(f"{fmt} MNE: channels and rate", raw.ch_names[:14] == DISPLAY and raw.info["sfreq"] == 256, (raw.ch_names[:3], raw.info["sfreq"]))
            mne_uv = raw.get_data(picks=DISPLAY)[:, : len(csv_eeg)].T * 1e6
            check(f"{fmt} MNE: EEG in µV equals the CSV within one ADC step", np.abs(mne_uv - csv_eeg).max() <= STEP_UV + 1e-6,
                  np.abs(mne_uv - csv_eeg).max())
            check(f"{fmt} MNE: marker annotations", {"stim_on", "trial"} <= set(raw.annotations.description), list(raw.annotations.description))
            meta = json.load(open(glob.glob(os.path.join(folder, "*.json"))[0]))
            check(f"{fmt}: the JSON companion lists both markers", len(meta.get("markers", [])) == 2, meta.get("markers"))

        # EDF (Cortex 1.x style): EEG+CQ in one file, motion in another.
        folder = export(c, token, rid, "EDF", ["EEG", "MOTION"])
        files = sorted(glob.glob(os.path.join(folder, "*.edf")))
        motion = [p for p in files if p.endswith("_motion.edf")]
        eeg_file = [p for p in files if not p.endswith("_motion.edf")]
        check("EDF: an EEG file and a motion file", len(motion) == 1 and len(eeg_file) == 1, files)
        if eeg_file and motion:
            with pyedflib.EdfReader(eeg_file[0]) as f:
                edf = np.array([f.readSignal(i)[: len(csv_eeg)] for i in range(14)]).T
                check("EDF pyedflib: EEG equals the CSV within one ADC step", np.abs(edf - csv_eeg).max() <= STEP_UV)
            with pyedflib.EdfReader(motion[0]) as f:
                check("EDF pyedflib: motion file has the 9 motion channels at 64 Hz",
                      f.signals_in_file == 9 and f.getSampleFrequency(0) == 64, (f.signals_in_file, f.getSampleFrequency(0)))
            raw = mne.io.read_raw_edf(eeg_file[0], preload=True, verbose="ERROR")
            check("EDF MNE: opens the EEG file", raw.ch_names[:14] == DISPLAY, raw.ch_names[:3])
        dense_markers(c, token, headset)
        c.ws.close()
    finish("record conformance")


if __name__ == "__main__":
    main()
