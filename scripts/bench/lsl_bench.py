"""LSL figures: latency from a sample's instant (its LSL stamp: the sample clock, which follows
the arrival at the acquisition thread) to a pylsl inlet's receipt, and the daemon's CPU with
LSL on and off, alternating runs. Loopback only: run with LSLAPICFG set to
scripts/conformance/lsl_api.cfg.

Usage: LSLAPICFG=scripts/conformance/lsl_api.cfg python scripts/bench/lsl_bench.py target/release/epocd [runs]
"""
import os
import subprocess
import sys
import tempfile
import time

import pylsl

WARMUP, SECS = 3.0, 10.0


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(binary, headsets, lsl):
    data = tempfile.mkdtemp(prefix="epocd-lsl-bench-")
    args = [binary, "serve", "--no-tls", "--virtual", str(headsets), "--listen", "127.0.0.1:0", "--data-dir", data,
            "--no-hotplug", "--ble-scan", "0", "--config", "/dev/null"] + (["--lsl"] if lsl else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdout.readline()
        inlets = []
        if lsl:
            infos = pylsl.resolve_byprop("type", "EEG", minimum=headsets, timeout=10)
            inlets = [pylsl.StreamInlet(i, max_buflen=10) for i in infos]
            for i in inlets:
                i.open_stream(timeout=5)
        end_warm = time.time() + WARMUP
        while time.time() < end_warm:
            for i in inlets:
                i.pull_chunk(timeout=0.0)
            time.sleep(0.002)
        c0, t0 = cpu_secs(proc.pid), time.time()
        lat = []
        while time.time() < t0 + SECS:
            for i in inlets:
                _, ts = i.pull_chunk(timeout=0.0)
                now = pylsl.local_clock()
                lat += [now - t for t in ts]
            time.sleep(0.001)
        cpu = (cpu_secs(proc.pid) - c0) / (time.time() - t0) * 100
        return cpu, sorted(lat)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not os.environ.get("LSLAPICFG"):
        sys.exit("set LSLAPICFG to the loopback-only config")
    for headsets in (1, 4):
        for r in range(runs):
            for lsl in (True, False):
                cpu, lat = run(binary, headsets, lsl)
                line = f"{headsets} headset(s), LSL {'on ' if lsl else 'off'}: daemon CPU {cpu:.1f} % of one core"
                if lat:
                    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
                    line += f", {len(lat)} samples, latency p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms"
                print(line, flush=True)


if __name__ == "__main__":
    main()
