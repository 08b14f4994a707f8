#!/usr/bin/env python3
"""Time to recovery: from `kill -9` of a service to its health URL answering
again, under `supervisorctl watch` and under supervisord, on the same
`python3 -m http.server` service. Usage: mttr.py SUPERVISORCTL SUPERVISORD [KILLS]

Each kill happens after the service has been healthy for a while; for
supervisorctl the restart circuit is reset between kills (`reset`), so the
figure is detection plus restart, not the backoff that repeated crashes get
on purpose. Prints a table of medians and maxima (milliseconds)."""
import os, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.2) as r:
            return r.status == 200
    except Exception:
        return False

def wait(pred, limit=30.0, step=0.005):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False

def server_pid(port):
    out = subprocess.run(["pgrep", "-f", f"http.server {port}"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None

def measure(port, kills, between):
    times = []
    for _ in range(kills):
        assert wait(lambda: answers(port)), "the service never answered"
        time.sleep(between())
        pid = server_pid(port)
        t = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait(lambda: not answers(port), limit=2)
        assert wait(lambda: answers(port) and server_pid(port) not in (None, pid)), "not recovered"
        times.append((time.monotonic() - t) * 1000)
    return times

def ours(binary, kills, root):
    port = free_port()
    hosts = os.path.join(root, "hosts", "bench"); os.makedirs(hosts)
    os.makedirs(os.path.join(root, "world"))
    with open(os.path.join(hosts, "services.yaml"), "w") as f:
        f.write(f"supervisor:\n  max_restart_attempts: 100\nservices:\n  web:\n"
                f"    spawn: [python3, -m, http.server, \"{port}\", --bind, 127.0.0.1]\n"
                f"    health:\n      http: http://127.0.0.1:{port}/\n")
    base = [binary, "--hosts", os.path.join(root, "hosts"), "--world", os.path.join(root, "world"),
            "--state-dir", os.path.join(root, "state"), "--node", "bench"]
    w = subprocess.Popen(base + ["watch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def between():
        # Past the fast tick (3s) since the last probe; the circuit closed.
        subprocess.run(base + ["reset", "bench/web"], stdout=subprocess.DEVNULL, check=True)
        return 4.0
    try:
        return measure(port, kills, between)
    finally:
        w.send_signal(signal.SIGINT); w.wait(10)
        pid = server_pid(port)
        if pid: os.kill(pid, signal.SIGKILL)

def theirs(supervisord, kills, root):
    port = free_port()
    conf = os.path.join(root, "supervisord.conf")
    with open(conf, "w") as f:
        f.write(f"[supervisord]\nnodaemon=true\nlogfile={root}/sd.log\npidfile={root}/sd.pid\n"
                f"[program:web]\ncommand=python3 -m http.server {port} --bind 127.0.0.1\n"
                f"autorestart=true\nstartsecs=1\nstartretries=3\n")
    d = subprocess.Popen([supervisord, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return measure(port, kills, lambda: 4.0)
    finally:
        d.send_signal(signal.SIGTERM); d.wait(10)

def main():
    ours_bin, sd = sys.argv[1], sys.argv[2]
    kills = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        rows = [("supervisorctl watch", ours(ours_bin, kills, a)), ("supervisord", theirs(sd, kills, b))]
    print(f"| supervisor | kills | median ms | max ms |\n|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {len(t)} | {statistics.median(t):.0f} | {max(t):.0f} |")

if __name__ == "__main__":
    main()
