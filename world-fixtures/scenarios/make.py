#!/usr/bin/env python3
"""Writes the shipped replay scenarios (one folder each) from the timelines
below: scenario.yaml, hosts/<node>/services.yaml and steps/NN/ (a world
directory per step). `expect.json` beside them holds the score a test
checks (written by hand, after reviewing the timeline). The folders are committed; run this again after
changing a timeline (`python3 world-fixtures/scenarios/make.py`).

Each timeline is what an observer would have recorded, step by step; the
world does not react to the replayed actions (a recording never does), so
each timeline is written to show the fault being fixed where the expected
action lands.
"""
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)  # a Friday
GIB = 1024**3


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def offset(secs):
    if secs % 3600 == 0 and secs:
        return f"{secs // 3600}h"
    if secs % 60 == 0 and secs:
        return f"{secs // 60}m"
    return f"{secs}s"


def write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def scenario(name, description, node, services_yaml, steps, faults):
    """steps: list of (secs, world) where world is a dict with optional
    keys node (status, default online; "silent" writes no record),
    services {name: record without observed_at}, resources (record without
    observed_at)."""
    root = HERE / name
    for old in ["steps", "hosts"]:  # expect.json, the checked score, stays
        if (root / old).exists():
            shutil.rmtree(root / old)
    (root / "hosts" / node).mkdir(parents=True)
    (root / "hosts" / node / "services.yaml").write_text(services_yaml.lstrip())
    lines = [f"description: {json.dumps(description)}", f"start: {ts(START)}", f"node: {node}", "steps:"]
    for i, (secs, world) in enumerate(steps):
        t = START + timedelta(seconds=secs)
        folder = f"steps/{i:02d}"
        lines += [f"  - at: {offset(secs) if secs else '0s'}", f"    world: {folder}"]
        w = root / folder
        w.mkdir(parents=True)
        status = world.get("node", "online")
        if status != "silent":
            write(w / "nodes" / f"{node}.json", {"status": status, "last_seen": ts(t)})
        for svc, rec in world.get("services", {}).items():
            write(w / "services" / node / f"{svc}.json", {**rec, "observed_at": ts(t)})
        if "resources" in world:
            write(w / "resources" / f"{node}.json", {**world["resources"], "observed_at": ts(t)})
    lines.append("faults:" if faults else "faults: []")
    for f in faults:
        lines.append(f"  - service: {f['service']}")
        lines.append(f"    from: {offset(f['from']) if f['from'] else '0s'}")
        if "to" in f:
            lines.append(f"    to: {offset(f['to'])}")
        lines.append(f"    action: {f['action']}")
    (root / "scenario.yaml").write_text("\n".join(lines) + "\n")


OK = {"status": "ok"}
FAILED = {"status": "failed"}
HUNG = {"status": "degraded", "probe": "failing", "reason": "timed out after 2s"}


def crash_loop():
    yaml = """
supervisor:
  preset: balanced            # 3 restart attempts, then the circuit opens
services:
  api:
    restart: [systemctl, restart, api]
"""
    steps = [(s, {"services": {"api": OK if s < 60 else FAILED}}) for s in range(0, 1201, 30)]
    scenario("crash-loop", "a service that crashes at once after every start: the circuit must open, not storm",
             "web-1", yaml, steps, [{"service": "api", "from": 60, "to": 90, "action": "restart"}])


def hung_health():
    yaml = """
services:
  llm:
    health:
      http: http://127.0.0.1:8000/health
      degraded_after: 2
      dead_after: 5
    restart: [systemctl, restart, llm]
"""
    # Hung from 90s: five failing probes make it dead at 210s; the restart
    # there fixes it (the observer sees it ok from 240s).
    steps = [(s, {"services": {"llm": HUNG if 90 <= s <= 210 else OK}}) for s in range(0, 391, 30)]
    scenario("hung-health", "a hung health endpoint: health degrades to dead, then one restart",
             "gpu", yaml, steps, [{"service": "llm", "from": 90, "to": 240, "action": "restart"}])


def memory_leak():
    yaml = """
supervisor:
  memory_pressure: 90%
services:
  worker:
    restart: [systemctl, restart, worker]
"""
    total = 64 * GIB
    steps = []
    for i, s in enumerate(range(0, 3301, 60)):  # 55 min: the 90% crossing is at ~70 min
        used = 40 * GIB + i * 256 * 1024**2  # +256 MiB a minute: 90% in ~46 min
        rss = 4 * GIB + i * 256 * 1024**2
        steps.append((s, {"services": {"worker": {**OK, "memory_bytes": rss}},
                          "resources": {"memory": {"total_bytes": total, "used_bytes": used}}}))
    scenario("memory-leak", "a slow memory leak: predicted before pressure, no premature action",
             "app-1", yaml, steps, [{"service": "worker", "from": 0, "action": "none"}])


def gpu_pressure():
    yaml = """
supervisor:
  gpu_pressure: 90%
services:
  chat:
    kind: model
    pinned: true
    priority: 100
    restart: [systemctl, restart, chat]
    gpu_memory: 40GiB
  coder:
    kind: model
    priority: 50
    restart: [systemctl, restart, coder]
    gpu_memory: 20GiB
  embed:
    kind: model
    priority: 10
    restart: [systemctl, restart, embed]
    gpu_memory: 8GiB
"""
    total = 80 * GIB
    steps = []
    for s in range(0, 301, 30):
        busy = {"status": "ok", "gpu_index": 0, "last_activity": ts(START + timedelta(seconds=s)), "in_flight": 1}
        embed_gone = s >= 90
        used = (70 if s < 60 else 76) * GIB - (8 * GIB if embed_gone else 0)
        svcs = {"chat": {**busy, "gpu_memory_bytes": 40 * GIB},
                "coder": {**busy, "gpu_memory_bytes": (20 if s < 60 else 22) * GIB}}
        svcs["embed"] = {"status": "stopped"} if embed_gone else {**busy, "gpu_memory_bytes": 8 * GIB}
        steps.append((s, {"services": svcs,
                          "resources": {"gpus": [{"index": 0, "memory_total_bytes": total, "memory_used_bytes": used}]}}))
    scenario("gpu-pressure", "GPU pressure with mixed priorities and a pinned model: the lowest-priority model goes, the pinned one stays",
             "gpu", yaml, steps, [{"service": "embed", "from": 60, "to": 60, "action": "evict"},
                                  {"service": "chat", "from": 60, "action": "none"}])


def offline_node():
    yaml = """
services:
  app:
    restart: [systemctl, restart, app]
"""
    steps = []
    for s in range(0, 361, 30):
        if 60 <= s < 240:
            steps.append((s, {"node": "offline", "services": {"app": FAILED}}))
        else:
            steps.append((s, {"services": {"app": OK}}))
    scenario("offline-node", "a node whose observer reports it offline: its stale records never cause an action",
             "edge-1", yaml, steps, [{"service": "app", "from": 60, "to": 210, "action": "none"}])


def flapping():
    yaml = """
services:
  web:
    health:
      http: http://127.0.0.1:8080/health
    restart: [systemctl, restart, web]
"""
    steps = [(s, {"services": {"web": HUNG if (s // 30) % 2 else OK}}) for s in range(0, 601, 30)]
    scenario("flapping", "a service whose health check fails every other probe: it never reaches dead, nothing is restarted",
             "web-1", yaml, steps, [{"service": "web", "from": 30, "action": "none"}])


def idle_demand():
    yaml = """
supervisor:
  idle_timeout: 10m
services:
  coder:
    kind: model
    priority: 20
    restart: [systemctl, restart, coder]
    stop: [systemctl, stop, coder]
"""
    last_use = START - timedelta(minutes=6)
    steps = []
    for s in range(0, 2401, 60):
        t = START + timedelta(seconds=s)
        if s < 360:  # idle since 11:54: evicted at 12:05, past its 10m
            rec = {**OK, "last_activity": ts(last_use), "in_flight": 0}
        elif s < 1800:
            rec = {"status": "stopped", "last_activity": ts(last_use)}
        else:  # demand again at 12:30, after the idle timeout
            rec = {"status": "stopped" if s == 1800 else "ok", "last_activity": ts(t), "in_flight": 1}
        steps.append((s, {"services": {"coder": rec}}))
    scenario("idle-evict-demand", "an idle model evicted, then demanded again half an hour later: reloaded, no flap",
             "gpu", yaml, steps, [{"service": "coder", "from": 300, "to": 360, "action": "evict"},
                                  {"service": "coder", "from": 1800, "to": 1800, "action": "restart"}])


def maintenance():
    yaml = """
supervisor:
  maintenance:
    - days: [fri]
      from: "12:00"
      to: "12:05"
services:
  db:
    restart: [systemctl, restart, postgresql]
"""
    # Dead from 60s (the fault's `from`, when it shows in the world); the
    # restart must wait for the window's end at 5m and come by 5m30s.
    steps = [(s, {"services": {"db": FAILED if 60 <= s <= 300 else OK}}) for s in range(0, 481, 30)]
    scenario("maintenance-hold", "a service dies inside a maintenance window: the restart waits for the window's end",
             "db-1", yaml, steps, [{"service": "db", "from": 60, "to": 330, "action": "restart"}])


def tuning():
    yaml = """
supervisor:
  adaptive: true              # tune degraded_after/dead_after/backoff from outcomes
services:
  web:
    health:
      http: http://127.0.0.1:8080/health
      degraded_after: 2
      dead_after: 5
    restart: [systemctl, restart, web]
"""
    # Every 10 minutes two failing probes, then it recovers by itself:
    # patience grows one step an hour, to its bound (twice the configured
    # value), and stays there.
    steps = [(s, {"services": {"web": HUNG if s % 600 in (120, 240) else OK}}) for s in range(0, 4 * 3600 + 1, 120)]
    scenario("tuning-converges", "blips that always recover by themselves: adaptive tuning raises degraded_after one step an hour to its bound, then stays",
             "web-1", yaml, steps, [{"service": "web", "from": 0, "action": "none"}])


if __name__ == "__main__":
    for make in [crash_loop, hung_health, memory_leak, gpu_pressure, offline_node, flapping, idle_demand, maintenance, tuning]:
        make()
