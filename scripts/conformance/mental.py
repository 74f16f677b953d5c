"""Mental-command conformance: the official training flow against `epocd serve`, trained
commands recognised on held-out time, and the classifier checked against pyriemann.

The virtual headset "thinks" a script (push and pull, each with its own spatial pattern) at
known times; the time origin comes from a sync blink in the EEG, as in detections.py. In raw
JSON over wss with websocket-client, as the official mental_command_train.py does:

* queryProfile → setupProfile create → load → getCurrentProfile → subscribe sys and com;
* training start → MC_Started → MC_Succeeded → accept → MC_Completed, for neutral, push and
  pull, three times each; a reject (MC_Rejected), a reset (MC_Reset) and an erase (MC_DataErased);
* mentalCommandActiveAction, ActionSensitivity (get is a list), BrainMap, TrainingThreshold,
  GetSkillRating, getTrainedSignatureActions, getTrainingTime;
* the com stream on held-out time: the acted command (and neutral as neutral) >= 90 %;
* a facial-expression training epoch (the headset smiles): FE_Started → FE_Succeeded → accept
  → FE_Completed, then the trained signature is offered and chosen;
* setupProfile save → unload (warning 14);
* `epocd profiles show`: each action's Riemannian mean equals pyriemann's `mean_riemann` of
  the profile's stored covariance matrices, and each action's leave-one-epoch-out accuracy
  equals pyriemann's MDM on the same epochs (the same decisions, window by window).

Usage: python mental.py PATH/TO/epocd
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
from pyriemann.classification import MDM
from pyriemann.utils.mean import mean_riemann

from cortex_flow import check, connected_app, finish, serve_script
from detections import sync_origin

SYNC_AT = 8.0
BLOCK = 11.0  # seconds a scripted thought lasts: a 9 s training epoch fits with margin
# (headset time, action) of each training epoch; neutral is rest (nothing scripted).
TRAIN = [(12.0 + 13.0 * i, ["neutral", "push", "pull"][i % 3]) for i in range(9)]  # three rounds
TEST = [(131.0, "push"), (144.0, "neutral"), (157.0, "pull"), (170.0, "neutral")]
END = 182.0
SMILE_AT = 184.0  # a facial-expression training epoch: the headset smiles for BLOCK seconds
N = 14


def script():
    lines = [f"{SYNC_AT} blink"]
    for t, action in TRAIN + TEST:
        if action != "neutral":
            lines.append(f"{t} {action} {BLOCK}")
    lines.append(f"{SMILE_AT} smile {BLOCK}")
    return "\n".join(lines) + "\n"


class Stream:
    """Frames of the session, with the headset time origin found from the EEG."""

    def __init__(self, c):
        self.c, self.eeg_t, self.af3, self.af4 = c, [], [], []
        self.origin, self.sys, self.com = None, [], []
        self.backlog = [m for m in c.pending if "sid" in m]
        c.pending = [m for m in c.pending if "sid" not in m]

    def pump(self, until=None, timeout=30.0):
        """Read frames until `until(msg)` is true for a frame (returned) or the timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.backlog.pop(0) if self.backlog else json.loads(self.c.ws.recv())
            if "eeg" in msg:
                self.eeg_t.append(msg["time"])
                self.af3.append(msg["eeg"][2])
                self.af4.append(msg["eeg"][15])
                if self.origin is None and msg["time"] - self.eeg_t[0] > 3.0 and len(self.eeg_t) % 64 == 0:
                    self.origin = sync_origin(self.eeg_t, self.af3, self.af4)
            elif "sys" in msg:
                self.sys.append(msg["sys"])
            elif "com" in msg:
                self.com.append((msg["time"], msg["com"]))
            elif "id" in msg or "warning" in msg:
                self.c.pending.append(msg)
            if until and until(msg):
                return msg
        return None

    def now(self):
        return self.eeg_t[-1] - self.origin if self.eeg_t and self.origin is not None else -1

    def wait_until(self, headset_time):
        self.pump(lambda m: "eeg" in m and self.origin is not None and self.now() >= headset_time,
                  timeout=headset_time + 30)

    def wait_sys(self, event, timeout=15.0):
        return self.pump(lambda m: "sys" in m and m["sys"][1] == event, timeout)


def call(c, s, rid, method, params):
    """A call that keeps the frames arriving meanwhile in the stream."""
    r = c.call(rid, method, params)
    s.backlog.extend(m for m in c.pending if "sid" in m)
    c.pending = [m for m in c.pending if "sid" not in m]
    return r


def train(c, s, token, sid, rid, action, at):
    s.wait_until(at + 0.3)
    r = call(c, s, rid, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                     "action": action, "status": "start"})
    started = s.wait_sys("MC_Started", 5)
    ok = s.wait_sys("MC_Succeeded", 15)
    check(f"training {action} at {at:.0f} s: result, MC_Started, then MC_Succeeded",
          r.get("result", {}).get("action") == action and started is not None and ok is not None, (r, s.sys[-3:]))
    r = call(c, s, rid + 1, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                         "action": action, "status": "accept"})
    done = s.wait_sys("MC_Completed", 5)
    check(f"accept {action}: MC_Completed", "result" in r and done is not None, r)


def main():
    binary = sys.argv[1]
    with serve_script(binary, "mental", script()) as (line, data):
        run(line, data, binary)
    finish("mental conformance")


def run(line, data, binary):
    c, token, headset = connected_app(line, data, "com.example.mental")
    sid = c.call(4, "createSession", {"cortexToken": token, "headset": headset, "status": "active"})["result"]["id"]
    r = c.call(5, "subscribe", {"cortexToken": token, "session": sid, "streams": ["eeg", "sys", "com"]})
    cols = {x["streamName"]: x["cols"] for x in r["result"]["success"]}
    check("subscribe eeg, sys and com: all in success, each with cols", set(cols) == {"eeg", "sys", "com"}, r)
    s = Stream(c)

    profiles = call(c, s, 6, "queryProfile", {"cortexToken": token})["result"]
    check("queryProfile: a list (empty at first)", profiles == [], profiles)
    r = call(c, s, 7, "setupProfile", {"cortexToken": token, "profile": "conformance", "status": "create",
                                        "headset": headset})
    check("setupProfile create: action and name", r.get("result", {}).get("action") == "create"
          and r["result"].get("name") == "conformance", r)
    r = call(c, s, 8, "setupProfile", {"cortexToken": token, "profile": "conformance", "status": "load",
                                        "headset": headset})
    check("setupProfile load", r.get("result", {}).get("action") == "load", r)
    r = call(c, s, 9, "getCurrentProfile", {"cortexToken": token, "headset": headset})
    check("getCurrentProfile: name and loadedByThisApp", r.get("result") == {"name": "conformance",
                                                                            "loadedByThisApp": True}, r)
    r = call(c, s, 10, "getTrainingTime", {"cortexToken": token, "detection": "mentalCommand", "session": sid})
    check("getTrainingTime: 8 s", r.get("result", {}).get("time") == 8, r)

    rid = 100
    for at, action in TRAIN:
        train(c, s, token, sid, rid, action, at)
        rid += 2
    check("the sync blink gave the time origin", s.origin is not None)

    # reject, reset and erase.
    r = call(c, s, 200, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                      "action": "lift", "status": "start"})
    s.wait_sys("MC_Started", 5)
    r = call(c, s, 201, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                      "action": "lift", "status": "reset"})
    check("reset during training: MC_Reset", s.wait_sys("MC_Reset", 5) is not None, r)
    r = call(c, s, 202, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                      "action": "lift", "status": "reject"})
    check("reject with nothing recorded: an error that says so", "no recorded epoch" in
          r.get("error", {}).get("message", ""), r)
    r = call(c, s, 203, "training", {"cortexToken": token, "session": sid, "detection": "mentalCommand",
                                      "action": "lift", "status": "erase"})
    check("erase: MC_DataErased", s.wait_sys("MC_DataErased", 5) is not None, r)
    check("every sys event is [detection, event] strings",
          all(isinstance(x, list) and len(x) == 2 and all(isinstance(v, str) for v in x) for x in s.sys), s.sys[:3])

    r = call(c, s, 210, "getTrainedSignatureActions", {"cortexToken": token, "detection": "mentalCommand",
                                                        "session": sid})
    got = {a["action"]: a["times"] for a in r.get("result", {}).get("trainedActions", [])}
    check("getTrainedSignatureActions: neutral, push and pull three times each",
          got == {"neutral": 3, "push": 3, "pull": 3} and r["result"]["totalTimesTraining"] == 9, r)
    r = call(c, s, 211, "mentalCommandActiveAction", {"cortexToken": token, "status": "set", "session": sid,
                                                       "actions": ["push", "pull"]})
    r = call(c, s, 212, "mentalCommandActiveAction", {"cortexToken": token, "status": "get", "profile": "conformance"})
    check("mentalCommandActiveAction set then get", r.get("result") == ["push", "pull"], r)
    r = call(c, s, 213, "mentalCommandActionSensitivity", {"cortexToken": token, "status": "get", "session": sid})
    check("mentalCommandActionSensitivity get: a list of four", isinstance(r.get("result"), list)
          and len(r["result"]) == 4, r)
    r = call(c, s, 214, "mentalCommandActionSensitivity", {"cortexToken": token, "status": "set", "session": sid,
                                                            "values": [5, 5, 5, 5]})
    check("mentalCommandActionSensitivity set: not a list", "result" in r and not isinstance(r["result"], list), r)
    r = call(c, s, 215, "mentalCommandBrainMap", {"cortexToken": token, "profile": "conformance", "session": sid})
    check("mentalCommandBrainMap: an x, y per trained action",
          sorted(p["action"] for p in r.get("result", [])) == ["neutral", "pull", "push"]
          and all(len(p["coordinates"]) == 2 for p in r["result"]), r)
    r = call(c, s, 216, "mentalCommandTrainingThreshold", {"cortexToken": token, "session": sid})
    check("mentalCommandTrainingThreshold: currentThreshold and lastTrainingScore",
          {"currentThreshold", "lastTrainingScore"} <= set(r.get("result", {})), r)
    r = call(c, s, 217, "mentalCommandGetSkillRating", {"cortexToken": token, "session": sid, "action": "push"})
    check("mentalCommandGetSkillRating push: a number (0-100)", isinstance(r.get("result"), (int, float))
          and 0 <= r["result"] <= 100, r)

    # Held-out time: the com stream against the script.
    s.wait_until(END)
    right = total = 0
    for start, action in TEST:
        frames = [com for t, com in s.com if start + 1.5 <= t - s.origin < start + BLOCK - 0.5]
        total += len(frames)
        right += sum(1 for com in frames if com[0] == action)
    accuracy = right / max(1, total)
    print(f"  com on held-out time: {accuracy * 100:.1f} % of {total} frames right (3 epochs of 8 s per action)")
    # Latency: from a change of mind in the signal to the first com frame naming the new state.
    changes = []
    for start, action in TEST:
        if action != "neutral":
            changes += [(start, action), (start + BLOCK, "neutral")]
    latency = []
    for at, state in changes:
        first = next((t - s.origin for t, com in s.com if t - s.origin >= at and com[0] == state), None)
        if first is not None:
            latency.append((first - at) * 1000)
    if latency:
        print(f"  com latency, change of mind -> first frame naming it: p50 {np.percentile(latency, 50):.0f} ms, "
              f"max {max(latency):.0f} ms ({len(latency)} changes)")
    check("com: the acted command, and neutral as neutral, on >= 90 % of held-out frames", accuracy >= 0.9,
          accuracy)
    check("com frames are [act, pow] with pow 0..1", all(isinstance(x[0], str) and 0 <= x[1] <= 1 for _, x in s.com))

    # A facial expression trained: the profile then offers the trained signature.
    r = call(c, s, 230, "facialExpressionSignatureType", {"cortexToken": token, "status": "get", "session": sid})
    check("facialExpressionSignatureType before training: universal only",
          r.get("result") == {"availableSignature": ["universal"], "signatureType": "universal"}, r)
    s.wait_until(SMILE_AT + 0.3)
    r = call(c, s, 231, "training", {"cortexToken": token, "session": sid, "detection": "facialExpression",
                                      "action": "smile", "status": "start"})
    started, ok = s.wait_sys("FE_Started", 5), s.wait_sys("FE_Succeeded", 15)
    check("training facialExpression smile: FE_Started, then FE_Succeeded", started is not None and ok is not None,
          s.sys[-3:])
    call(c, s, 232, "training", {"cortexToken": token, "session": sid, "detection": "facialExpression",
                                  "action": "smile", "status": "accept"})
    check("accept smile: FE_Completed", s.wait_sys("FE_Completed", 5) is not None, s.sys[-2:])
    r = call(c, s, 233, "facialExpressionSignatureType", {"cortexToken": token, "status": "set", "session": sid,
                                                           "signature": "trained"})
    check("facialExpressionSignatureType set trained once an expression is trained",
          r.get("result") == {"availableSignature": ["universal", "trained"], "signatureType": "trained"}, r)
    r = call(c, s, 234, "getTrainedSignatureActions", {"cortexToken": token, "detection": "facialExpression",
                                                        "session": sid})
    check("getTrainedSignatureActions facialExpression: smile once",
          r.get("result", {}).get("trainedActions") == [{"action": "smile", "times": 1}], r)

    r = call(c, s, 220, "setupProfile", {"cortexToken": token, "profile": "conformance", "status": "save",
                                          "headset": headset})
    check("setupProfile save", r.get("result", {}).get("action") == "save", r)
    r = call(c, s, 221, "setupProfile", {"cortexToken": token, "profile": "conformance", "status": "unload",
                                          "headset": headset})
    check("setupProfile unload, then warning 14", r.get("result", {}).get("action") == "unload"
          and c.wait_warning(14, timeout=5) is not None, r)
    c.ws.close()
    twin(binary, data)


def full(upper):
    m = np.zeros((N, N))
    m[np.triu_indices(N)] = upper
    return m + np.triu(m, 1).T


def twin(binary, data):
    """epocd's means and cross-validated decisions against pyriemann on the stored matrices."""
    out = subprocess.run([binary, "profiles", "--data-dir", data, "show", "conformance"],
                         capture_output=True, text=True, check=True)
    shown = json.loads(out.stdout)
    with open(glob_one(os.path.join(data, "profiles"))) as f:
        stored = json.load(f)
    actions = stored["mentalCommand"]["training"]["actions"]
    worst_mean = 0.0
    for a in actions:
        covs = np.array([full(w) for e in a["epochs"] for w in e["windows"]])
        theirs = mean_riemann(covs, tol=1e-10, maxiter=100)
        ours = full(next(x for x in shown["mentalCommand"]["actions"] if x["action"] == a["action"])["riemannMean"])
        worst_mean = max(worst_mean, np.abs(ours - theirs).max() / np.abs(theirs).max())
    check("each action's Riemannian mean equals pyriemann's mean_riemann (rel. 1e-6)", worst_mean < 1e-6, worst_mean)
    # Leave one epoch out, as epocd does: fit MDM on the others, predict the held-out windows.
    same = True
    for i, a in enumerate(actions):
        right = total = 0
        for held in range(len(a["epochs"])):
            X, y = [], []
            for j, b in enumerate(actions):
                for k, e in enumerate(b["epochs"]):
                    if i == j and k == held:
                        continue
                    X += [full(w) for w in e["windows"]]
                    y += [b["action"]] * len(e["windows"])
            mdm = MDM(metric="riemann").fit(np.array(X), np.array(y))
            pred = mdm.predict(np.array([full(w) for w in a["epochs"][held]["windows"]]))
            right += int((pred == a["action"]).sum())
            total += len(pred)
        theirs = right / total
        ours = next(x for x in shown["mentalCommand"]["actions"] if x["action"] == a["action"])["crossValidatedAccuracy"]
        print(f"  {a['action']}: leave-one-epoch-out accuracy epocd {ours:.4f}, pyriemann MDM {theirs:.4f}")
        same = same and abs(ours - theirs) < 1e-9
    check("each action's leave-one-epoch-out accuracy equals pyriemann MDM's (same decisions)", same)


def glob_one(folder):
    files = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".json")]
    return files[0]


if __name__ == "__main__":
    main()
