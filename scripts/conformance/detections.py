"""Detections conformance: the met and fac streams of `epocd serve` against ground truth.

The virtual headset acts out a script written here (blinks, winks, looks, four expressions,
an engaged and a relaxed stretch, then rest), so every event's true time is known. The script
is spoken to in raw JSON over wss with websocket-client, as the official examples do:

* the official sub_data flow: subscribe eeg, mot, met, pow -> all four succeed, and met
  arrives within 1 s of subscribing;
* live fac frames against the script: precision and recall (eyes >= 0.95, expressions >= 0.9),
  latency from the event's onset in the signal to the fac frame naming it, false events per
  minute of rest (<= 1);
* met moves the right way: engagement up while engaged, relaxation up while relaxed;
* the record's CSV export: every PM Raw/Min/Max/Scaled value recomputed here from the exported
  EEG with scipy's periodogram and numpy's percentile (an independent implementation of the
  formulas of docs/detections.md), and FE eye events within 100 ms of their true onset;
* EDF+ with PM: MNE reads the facial-expression events as annotations;
* getDetectionInfo, facialExpressionSignatureType and facialExpressionThreshold.

The headset's time origin is found from the signal, not from the detector: the script opens
with one blink alone at 8 s, and its half-height crossing on AF3/AF4 gives the origin.

Usage: python detections.py PATH/TO/epocd
"""
import csv
import glob
import json
import os
import random
import sys
import tempfile
import time

import mne
import numpy as np
from scipy.signal import periodogram

from cortex_flow import check, connected_app, finish, serve_script

DISPLAY = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]
EYE = {"blink", "winkL", "winkR", "lookL", "lookR"}
FACE = {"surprise", "frown", "smile", "clench"}
SYNC_AT = 8.0
ENGAGED = (20.0, 55.0)  # start, duration (5 s ramps either side)
RELAXED = (95.0, 45.0)
REST = (152.0, 188.0)  # no event, neutral band power
END = 190.0
BANDS = [(4, 8), (8, 12), (12, 16), (16, 25), (25, 45)]
SITES = {  # docs/detections.md
    "Attention": ["AF3", "F3", "F4", "AF4"],
    "Engagement": ["F3", "FC5", "P7", "P8", "FC6", "F4"],
    "Excitement": ["AF3", "F3", "F4", "AF4"],
    "Stress": ["AF3", "F7", "F3", "F4", "F8", "AF4"],
    "Relaxation": ["P7", "O1", "O2", "P8"],
    "Interest": ["F3", "F4"],
}


def make_script():
    """The script text and its truth: (start, name, duration)."""
    rng = random.Random(20261201)
    truth = [(SYNC_AT, "blink", 0.25)]
    lines = [f"{SYNC_AT} blink", f"{ENGAGED[0]} engaged {ENGAGED[1]}", f"{RELAXED[0]} relaxed {RELAXED[1]}"]
    eyes = ["blink"] * 10 + ["winkL", "winkR", "lookL", "lookR"] * 5
    rng.shuffle(eyes)
    t = 12.0
    for name in eyes:
        dur = {"blink": 0.25, "winkL": 0.4, "winkR": 0.4}.get(name, round(rng.uniform(0.8, 1.4), 3))
        strength = round(rng.uniform(0.8, 1.2), 3)
        lines.append(f"{t:.3f} {name} {dur} {strength}")
        truth.append((t, name, dur))
        t += dur + rng.uniform(1.6, 2.2)
    faces = ["surprise", "frown", "smile", "clench"] * 4
    rng.shuffle(faces)
    t = max(t, 90.0)
    for name in faces:
        dur = round(rng.uniform(0.8, 1.4), 3)
        strength = round(rng.uniform(0.8, 1.2), 3)
        lines.append(f"{t:.3f} {name} {dur} {strength}")
        truth.append((t, name, dur))
        t += dur + rng.uniform(2.0, 2.8)
    assert t < REST[0], t
    return "\n".join(lines) + "\n", truth


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def match(truth, found, is_eye):
    """Pair found (time, name[, end]) with truth; eyes by onset within 0.5 s, expressions by
    overlap. Returns (hits as (truth, found) pairs, unmatched found)."""
    used = [False] * len(found)
    hits = []
    for start, name, dur in truth:
        for i, f in enumerate(found):
            if used[i] or f[1] != name:
                continue
            ok = abs(f[0] - start) < 0.5 if is_eye else (f[0] < start + dur and f[2] > start)
            if ok:
                used[i] = True
                hits.append(((start, name, dur), f))
                break
    return hits, [f for i, f in enumerate(found) if not used[i]]


def bursts(rows):
    """Runs of the same non-neutral expression in (time, upper, lower) rows: (start, name, end)."""
    out, cur = [], None
    for t, u, l in rows:
        act = u if u != "neutral" else (l if l != "neutral" else None)
        if act and cur and cur[1] == act and t - cur[2] < 0.25:
            cur = (cur[0], act, t)
        elif act:
            if cur:
                out.append(cur)
            cur = (t, act, t)
        elif cur and t - cur[2] >= 0.25:
            out.append(cur)
            cur = None
    if cur:
        out.append(cur)
    return out


def score(label, truth, eye_found, face_found):
    eye_truth = [x for x in truth if x[1] in EYE]
    face_truth = [x for x in truth if x[1] in FACE]
    eh, ef = match(eye_truth, eye_found, True)
    fh, ff = match(face_truth, face_found, False)
    er, ep = len(eh) / len(eye_truth), len(eh) / max(1, len(eye_found))
    fr, fp = len(fh) / len(face_truth), len(fh) / max(1, len(face_found))
    print(f"  {label}: eyes recall {er:.3f} precision {ep:.3f} ({len(eye_truth)} events); "
          f"expressions recall {fr:.3f} precision {fp:.3f} ({len(face_truth)} events); unmatched {ef + ff}")
    check(f"{label}: blinks, winks and looks found with precision and recall >= 0.95", er >= 0.95 and ep >= 0.95,
          (er, ep))
    check(f"{label}: surprise, frown, smile and clench found with precision and recall >= 0.9",
          fr >= 0.9 and fp >= 0.9, (fr, fp))
    return eh, fh


def sync_origin(times, af3, af4):
    """Headset time of the script's zero: the first half-height crossing of the sync blink."""
    t, v = np.asarray(times), (np.asarray(af3) + np.asarray(af4)) / 2
    base = np.median(v[t < t[0] + 2.0])
    above = np.nonzero(v - base > 75.0)[0]
    return t[above[0]] - (SYNC_AT + 0.0625) if len(above) else None


def band_powers(x, fs):
    f, p = periodogram(x, fs=fs, window="hann", detrend="constant", scaling="density")
    return [p[(f >= lo) & (f < hi)].mean() * (hi - lo) for lo, hi in BANDS]


def raw_index(name, window, fs):
    pw = {ch: band_powers(window[:, DISPLAY.index(ch)], fs) for ch in set(sum(SITES.values(), []))}
    s = lambda chs, bands: sum(pw[c][b] for c in chs for b in bands)
    sites = SITES[name]
    if name == "Attention":
        return s(sites, [2, 3]) / s(sites, [0])
    if name == "Engagement":
        return s(sites, [2, 3]) / (s(sites, [1]) + s(sites, [0]))
    if name == "Excitement":
        return s(sites, [2, 3]) / s(sites, [1])
    if name == "Stress":
        return s(sites, [3]) / s(sites, [1])
    if name == "Relaxation":
        return s(sites, [1]) / s(sites, [0, 1, 2, 3, 4])
    if name == "Interest":
        return np.log(pw["F4"][1]) - np.log(pw["F3"][1])
    raise ValueError(name)


def check_pm_twin(header, rows):
    """Every PM value against numpy/scipy on the same exported EEG."""
    col = {n: i for i, n in enumerate(header)}
    eeg = np.array([[float(r[col["EEG." + c]]) for c in DISPLAY] for r in rows])
    fs, n = 256, 512
    raws = {m: [] for m in SITES}
    worst = {"raw": 0.0, "minmax": 0.0, "scaled": 0.0, "lex": 0.0}
    worst_raw = {m: 0.0 for m in SITES}
    updates = accepted = 0
    validity_ok = True
    lex = None
    for i, r in enumerate(rows):
        if r[col["PM.Engagement.IsActive"]] == "":
            continue
        updates += 1
        if i < n - 1:
            continue  # before the first full window: nothing is known yet
        window = eeg[i - n + 1:i + 1]
        for m, sites in SITES.items():
            raw_cell = r[col[f"PM.{m}.Raw"]]
            ptp = np.ptp(window[:, [DISPLAY.index(c) for c in sites]], axis=0)
            cq = [int(r[col["CQ." + c]]) for c in sites]
            clean = bool((ptp <= 200.0).all() and min(cq) >= 2)
            if clean != (raw_cell != ""):
                validity_ok = False
            if raw_cell == "":
                continue
            accepted += 1
            raw = float(raw_cell)
            want = raw_index(m, window, fs)
            # Ratios compare relatively; interest (a log ratio near 0) absolutely.
            err = abs(raw - want) / (1.0 if m == "Interest" else abs(want))
            worst["raw"] = max(worst["raw"], err)
            worst_raw[m] = max(worst_raw[m], err)
            raws[m].append(raw)
            hist = raws[m][-600:]
            if r[col[f"PM.{m}.Min"]] == "":
                continue
            lo, hi = percentile(hist, 5), percentile(hist, 95)
            got_lo, got_hi = float(r[col[f"PM.{m}.Min"]]), float(r[col[f"PM.{m}.Max"]])
            worst["minmax"] = max(worst["minmax"], abs(got_lo - lo) / max(abs(lo), 1e-3),
                                  abs(got_hi - hi) / max(abs(hi), 1e-3))
            scaled = 0.5 if hi <= lo else min(1.0, max(0.0, (raw - lo) / (hi - lo)))
            # From the (rounded) cells, as a reader of the file would.
            scaled_cells = 0.5 if got_hi <= got_lo else min(1.0, max(0.0, (raw - got_lo) / (got_hi - got_lo)))
            worst["scaled"] = max(worst["scaled"], abs(float(r[col[f"PM.{m}.Scaled"]]) - scaled_cells))
            if m == "Excitement":
                lex = scaled if lex is None else lex + (scaled - lex) / 120.0
                worst["lex"] = max(worst["lex"], abs(float(r[col["PM.LongTermExcitement"]]) - lex))
    print(f"  PM twin: {updates} updates, {accepted} accepted index values; worst relative error raw "
          f"{worst['raw']:.1e}, min/max {worst['minmax']:.1e}; worst absolute error scaled {worst['scaled']:.1e}, "
          f"long-term excitement {worst['lex']:.1e}")
    print("  PM twin: worst raw error by metric: " + ", ".join(f"{m} {e:.1e}" for m, e in worst_raw.items()))
    check("PM: updates at 2 Hz on the EEG timeline", updates > 2 * 150, updates)
    check("PM: Raw is written exactly when the window is clean at the metric's sites (ptp <= 200 uV, contact >= 2)",
          validity_ok)
    # The CSV gives µV to 3 decimals, so the twin's input is within 0.0005 µV of what epocd
    # used: ratios agree to 1e-4 relative, interest (a log ratio of two sites) to 1e-3.
    ok = all(e < (1e-3 if m == "Interest" else 1e-4) for m, e in worst_raw.items())
    check("PM: every Raw equals the index computed with scipy's periodogram", accepted > 1000 and ok, worst_raw)
    check("PM: Min/Max are the 5th/95th percentiles of the last 600 Raw values (numpy)", worst["minmax"] < 1e-4,
          worst["minmax"])
    check("PM: Scaled = (Raw - Min) / (Max - Min) clipped to 0..1", worst["scaled"] < 2e-5, worst["scaled"])
    check("PM: LongTermExcitement is the 60 s exponential average of Excitement", worst["lex"] < 1e-4, worst["lex"])


def main():
    text, truth = make_script()
    with serve_script(sys.argv[1], "detections", text) as (line, data):
        run(line, data, truth)
    finish("detections conformance")


def run(line, data, truth):
    c, token, headset = connected_app(line, data, "com.example.detections")
    sid = c.call(4, "createSession", {"cortexToken": token, "headset": headset, "status": "active"})["result"]["id"]

    # The official sub_data flow.
    r = c.call(5, "subscribe", {"cortexToken": token, "session": sid, "streams": ["eeg", "mot", "met", "pow"]})
    subscribed_at = time.time()
    res = r.get("result", {})
    check("subscribe eeg, mot, met, pow: all four in success, none in failure",
          sorted(s["streamName"] for s in res.get("success", [])) == ["eeg", "met", "mot", "pow"]
          and res.get("failure") == [], r)
    met_cols = next(s["cols"] for s in res["success"] if s["streamName"] == "met")
    r = c.call(6, "createRecord", {"cortexToken": token, "session": sid, "title": "detections"})
    record_id = r["result"]["record"]["uuid"]
    r = c.call(7, "subscribe", {"cortexToken": token, "session": sid, "streams": ["fac"]})
    check("subscribe fac: success with cols eyeAct, uAct, uPow, lAct, lPow",
          r["result"]["success"][0]["cols"] == ["eyeAct", "uAct", "uPow", "lAct", "lPow"], r)
    detection_api(c, token, sid)

    eeg_t, af3, af4, met, fac = [], [], [], [], []
    first_met = None
    origin = None
    deadline = time.time() + END + 30
    # Frames that came in during the calls above first (their arrival is no later than now).
    backlog = [m for m in c.pending if "sid" in m]
    c.pending = [m for m in c.pending if "sid" not in m]
    while time.time() < deadline:
        msg = backlog.pop(0) if backlog else json.loads(c.ws.recv())
        now = time.time()
        if "eeg" in msg:
            eeg_t.append(msg["time"])
            af3.append(msg["eeg"][2])
            af4.append(msg["eeg"][15])
            if origin is None and msg["time"] - eeg_t[0] > 3.0 and len(eeg_t) % 64 == 0:
                origin = sync_origin(eeg_t, af3, af4)
            if origin is not None and msg["time"] - origin > END:
                break
        elif "met" in msg:
            first_met = first_met or now
            met.append((msg["time"], dict(zip(met_cols, msg["met"]))))
        elif "fac" in msg:
            fac.append((msg["time"], now, msg["fac"]))
    check("met: the first sample within 1 s of subscribing", first_met is not None and first_met - subscribed_at <= 1.0,
          None if first_met is None else first_met - subscribed_at)
    check("the script's origin is found from the sync blink in the EEG", origin is not None)
    if origin is None:
        return
    rel = lambda t: t - origin
    # Live fac against the truth (events before the subscription are not expected).
    start = rel(fac[0][0]) + 3.0 if fac else 0
    live_truth = [x for x in truth if x[0] > start]
    eye_found = [(rel(t), f[0], wall) for t, wall, f in fac if f[0] != "neutral"]
    face_found = bursts([(rel(t), f[1], f[3]) for t, _, f in fac])
    eh, _ = score("live fac", live_truth, eye_found, face_found)
    frame_latency = np.array([(f[0] - x[0]) for x, f in eh]) * 1000  # detection frame time - onset
    wall_latency = np.array([(f[2] - (origin + x[0])) for x, f in eh]) * 1000
    print(f"  live eye-event latency, onset -> fac frame: p50 {np.percentile(frame_latency, 50):.0f} ms, "
          f"p99 {np.percentile(frame_latency, 99):.0f} ms (sample time); onset -> frame received: "
          f"p50 {np.percentile(wall_latency, 50):.0f} ms, p99 {np.percentile(wall_latency, 99):.0f} ms")
    face_onsets = []
    for x, f in match([t for t in live_truth if t[1] in FACE], face_found, False)[0]:
        face_onsets.append((f[0] - x[0]) * 1000)
    if face_onsets:
        print(f"  live expression latency, onset -> first fac frame naming it: "
              f"p50 {np.percentile(face_onsets, 50):.0f} ms, p99 {np.percentile(face_onsets, 99):.0f} ms")
    rest_events = [e for e in eye_found + face_found if REST[0] <= e[0] <= REST[1]]
    per_min = len(rest_events) / ((REST[1] - REST[0]) / 60)
    check("live fac: at most one false facial event per minute of rest", per_min <= 1.0, rest_events)

    # met moves with the scripted band power.
    def mean(key, lo, hi):
        v = [m[key] for t, m in met if lo <= rel(t) <= hi and m[key] is not None and m[key + ".isActive"]]
        return float(np.mean(v)) if v else float("nan")
    eng_on, eng_rest = mean("eng", ENGAGED[0] + 8, ENGAGED[0] + ENGAGED[1]), mean("eng", *REST)
    rel_on, rel_rest = mean("rel", RELAXED[0] + 8, RELAXED[0] + RELAXED[1]), mean("rel", *REST)
    print(f"  met: engagement {eng_on:.2f} engaged vs {eng_rest:.2f} at rest; "
          f"relaxation {rel_on:.2f} relaxed vs {rel_rest:.2f} at rest")
    check("met: engagement is higher while engaged (beta up) than at rest", eng_on > eng_rest + 0.2,
          (eng_on, eng_rest))
    check("met: relaxation is higher while relaxed (alpha up) than at rest", rel_on > rel_rest + 0.2,
          (rel_on, rel_rest))
    active = [m for t, m in met if rel(t) > 20]
    check("met: every metric active once warm (no artefact-free stretch is lost)",
          all(all(m[k] for k in met_cols if k.endswith(".isActive")) for m in active[-20:]), active[-1:])
    values_ok = all(v is None or isinstance(v, bool) or 0.0 <= v <= 1.0 for _, m in met for v in m.values())
    check("met: values are booleans and 0..1 (or null before they are known)", values_ok)

    # The record: stop, export, check.
    c.call(20, "stopRecord", {"cortexToken": token, "session": sid})
    check("warning 30 after stopRecord", c.wait_warning(30, timeout=30) is not None)
    folder = tempfile.mkdtemp(prefix="epocd-detections-csv-")
    r = c.call(21, "exportRecord", {"cortexToken": token, "recordIds": [record_id], "folder": folder,
                                     "format": "CSV", "version": "V2",
                                     "streamTypes": ["EEG", "MOTION", "PM", "BP"]})
    check("exportRecord CSV V2 with PM succeeds", [s["recordId"] for s in r["result"]["success"]] == [record_id], r)
    path = [p for p in glob.glob(os.path.join(folder, "*.csv")) if not p.endswith("_intervalMarker.csv")][0]
    check("the CSV's name lists pm and fe", ".md.pm.fe.bp.csv" in path, path)
    with open(path, newline="") as f:
        f.readline()
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    check("the CSV has the PM and FE columns of Cortex exports",
          all(h in header for h in ["PM.Engagement.Scaled", "PM.Relaxation.Raw", "PM.LongTermExcitement",
                                    "FE.BlinkWink", "FE.HorizontalEyesDirection", "FE.UpperFaceAction",
                                    "FE.LowerFaceActionPower"]), header[-40:])
    check_pm_twin(header, rows)
    col = {n: i for i, n in enumerate(header)}
    times = [float(r[col["Timestamp"]]) for r in rows]
    csv_origin = sync_origin(times, [float(r[col["EEG.AF3"]]) for r in rows], [float(r[col["EEG.AF4"]]) for r in rows])
    eye_rows = [(float(r[col["Timestamp"]]) - csv_origin, r[col["FE.BlinkWink"]] or r[col["FE.HorizontalEyesDirection"]])
                for r in rows if r[col["FE.BlinkWink"]] or r[col["FE.HorizontalEyesDirection"]]]
    face_rows = bursts([(float(r[col["Timestamp"]]) - csv_origin, r[col["FE.UpperFaceAction"]], r[col["FE.LowerFaceAction"]])
                        for r in rows if r[col["FE.UpperFaceAction"]]])
    eh, _ = score("export FE", truth, eye_rows, face_rows)
    onset_err = np.array([abs(f[0] - x[0]) for x, f in eh]) * 1000
    print(f"  export eye-event onset error: p50 {np.percentile(onset_err, 50):.0f} ms, max {onset_err.max():.0f} ms")
    check("export FE: every found eye event's onset within 100 ms of the truth", onset_err.max() <= 100.0,
          onset_err.max())

    folder = tempfile.mkdtemp(prefix="epocd-detections-edf-")
    r = c.call(22, "exportRecord", {"cortexToken": token, "recordIds": [record_id], "folder": folder,
                                     "format": "EDFPLUS", "streamTypes": ["EEG", "PM"]})
    check("exportRecord EDFPLUS with PM succeeds", [s["recordId"] for s in r["result"]["success"]] == [record_id], r)
    edf = glob.glob(os.path.join(folder, "*.edf"))[0]
    raw = mne.io.read_raw_edf(edf, preload=False, verbose="ERROR")
    fe = [d for d in raw.annotations.description if d.startswith("FE:")]
    check("EDF+ MNE: the facial-expression events are annotations, one per CSV eye event and burst",
          len(fe) == len(eye_rows) + len(face_rows), (len(fe), len(eye_rows), len(face_rows)))
    r = c.call(23, "exportRecord", {"cortexToken": token, "recordIds": [record_id], "folder": folder,
                                     "format": "EDF", "streamTypes": ["EEG", "PM"]})
    message = r.get("error", {}).get("message", "") or str(r.get("result", {}).get("failure", ""))
    check("exportRecord plain EDF with PM fails and says to use EDFPLUS", "EDFPLUS" in message, r)
    c.ws.close()


def detection_api(c, token, sid):
    r = c.call(30, "getDetectionInfo", {"detection": "facialExpression"})
    res = r.get("result", {})
    check("getDetectionInfo facialExpression: actions, controls and events",
          {"blink", "winkL", "surprise", "clench", "smile"} <= set(res.get("actions", []))
          and res.get("controls") == ["start", "accept", "reject", "reset", "erase"] and res.get("events"), r)
    r = c.call(31, "getDetectionInfo", {"detection": "mentalCommand"})
    check("getDetectionInfo mentalCommand: actions include neutral and push",
          {"neutral", "push", "pull"} <= set(r.get("result", {}).get("actions", [])), r)
    r = c.call(32, "getDetectionInfo", {"detection": "telepathy"})
    check("getDetectionInfo of an unknown detection: -32602 naming the two", r.get("error", {}).get("code") == -32602
          and "facialExpression" in r["error"]["message"], r)
    r = c.call(33, "facialExpressionSignatureType", {"cortexToken": token, "status": "get", "session": sid})
    check("facialExpressionSignatureType get: universal", r.get("result", {}).get("signatureType") == "universal", r)
    r = c.call(34, "facialExpressionSignatureType",
               {"cortexToken": token, "status": "set", "session": sid, "signature": "trained"})
    check("facialExpressionSignatureType set trained: an error that says training is missing",
          "training" in r.get("error", {}).get("message", ""), r)
    r = c.call(35, "facialExpressionThreshold",
               {"cortexToken": token, "status": "set", "session": sid, "action": "smile", "value": 450})
    r = c.call(36, "facialExpressionThreshold", {"cortexToken": token, "status": "get", "session": sid,
                                                 "action": "smile"})
    check("facialExpressionThreshold: set then get gives the value", r.get("result", {}).get("currentThreshold") == 450, r)
    c.call(37, "facialExpressionThreshold",
           {"cortexToken": token, "status": "set", "session": sid, "action": "smile", "value": 500})
    r = c.call(38, "facialExpressionThreshold",
               {"cortexToken": token, "status": "set", "session": sid, "action": "clench", "value": 5000})
    check("facialExpressionThreshold out of range: -32602", r.get("error", {}).get("code") == -32602, r)


if __name__ == "__main__":
    main()
