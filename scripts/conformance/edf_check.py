"""EDF conformance: files written by `epocd convert` are opened by pyedflib and by
mne.io.read_raw_edf / read_raw_bdf; channel names, sample rate, values (within the format's
resolution) and annotations must equal what `epocd decode` says about the same capture.

Usage: python edf_check.py PATH/TO/epocd REPO_ROOT [SHARED_CAPTURES_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyedflib
import mne

from cortex_flow import check, finish

DISPLAY = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"]


def decoded_eeg(epocd, capture, serial):
    out = subprocess.run([epocd, "decode", "--serial", serial, capture], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines()]
    eeg = []
    for r in rows:
        if r["kind"] == "motion":
            continue
        for _ in range(r["lost"] if eeg else 0):
            eeg.append(eeg[-1])
        eeg.append([r["eeg"][c] for c in DISPLAY])
    return np.array(eeg)


def one(epocd, capture, serial, rate, fmt, tmp):
    ext = "bdf" if fmt == "bdfplus" else "edf"
    path = os.path.join(tmp, f"{os.path.basename(capture)}.{fmt}.{ext}")
    subprocess.run([epocd, "convert", "--serial", serial, "--format", fmt, "--out", path, capture], check=True, capture_output=True)
    truth = decoded_eeg(epocd, capture, serial)
    n = len(truth)
    # One ADC step: the file's resolution is exactly the headset's (lossless ranges).
    resolution = 8401.923 / 65535 if rate == 256 else 8355.33 / 16383
    tag = f"{os.path.basename(capture)[:24]} {fmt}"

    with pyedflib.EdfReader(path) as f:
        labels = f.getSignalLabels()
        check(f"{tag}: pyedflib channel names", labels[:14] == DISPLAY, labels[:14])
        check(f"{tag}: pyedflib sample rate", all(f.getSampleFrequency(i) == rate for i in range(14)), [f.getSampleFrequency(i) for i in range(3)])
        data = np.array([f.readSignal(i) for i in range(14)]).T[:n]
        err = np.abs(data - truth).max()
        check(f"{tag}: pyedflib values within resolution", err <= resolution, f"max error {err}")
        if fmt != "edf":
            onsets, durations, texts = f.readAnnotations()
            check(f"{tag}: pyedflib annotation", any(t.startswith("epocd: converted from") for t in texts) and onsets[0] == 0, list(texts))

    raw = (mne.io.read_raw_bdf if ext == "bdf" else mne.io.read_raw_edf)(path, preload=True, verbose="error")
    check(f"{tag}: mne channel names", raw.ch_names[:14] == DISPLAY, raw.ch_names[:14])
    check(f"{tag}: mne sample rate", raw.info["sfreq"] == rate, raw.info["sfreq"])
    mdata = raw.get_data(picks=DISPLAY)[:, :n].T * 1e6  # MNE returns volts
    err = np.abs(mdata - truth).max()
    check(f"{tag}: mne values within resolution", err <= resolution, f"max error {err}")
    if fmt != "edf":
        check(f"{tag}: mne annotation", any(d.startswith("epocd: converted from") for d in raw.annotations.description), list(raw.annotations.description))


def main():
    epocd, root = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "..", "shared", "captures")
    cases = [(os.path.join(root, "tests/data/hemokit/recording-1-truncated.dump"), "SN201211154288GM", 128)]
    emokit = os.path.join(shared, "emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061.csv")
    if os.path.exists(emokit):
        cases.append((emokit, "UD20160103001874", 256))
    elif os.environ.get("CI") == "true":
        check("shared captures present under CI", False, shared)
    with tempfile.TemporaryDirectory() as tmp:
        for capture, serial, rate in cases:
            for fmt in ["edf", "edfplus", "bdfplus"]:
                one(epocd, capture, serial, rate, fmt, tmp)
    finish("edf")


if __name__ == "__main__":
    main()
