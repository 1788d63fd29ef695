#!/usr/bin/env python3
"""Load test for dschat serve: C concurrent clients x R requests each (chat completions,
non-streaming, greedy, max_tokens small). Starts the server itself (--port 0), checks every
answer (HTTP 200, a chat.completion whose greedy text equals the first one's for the same
prompt), and reports requests/s, latency p50/p90/p99 and the server's RSS before and after.
  tools/bench/serve_load.py build/dschat [--clients 8] [--requests 20] [--parallel 2] [--max-tokens 8]
"""
import argparse, json, os, re, subprocess, sys, threading, time, urllib.request


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dschat")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "../../assets/model"))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=8)
    a = ap.parse_args()
    server = subprocess.Popen([a.dschat, "serve", "--model", a.model, "--port", "0", "--parallel", str(a.parallel)],
                              stderr=subprocess.PIPE, text=True)
    port = None
    while port is None:
        line = server.stderr.readline()
        if not line:
            sys.exit("the server exited")
        m = re.match(r"dschat serve: listening on http://127\.0\.0\.1:(\d+) ", line)
        if m:
            port = int(m.group(1))
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()  # drain the access log
    url = "http://127.0.0.1:%d/v1/chat/completions" % port
    prompts = ["Once upon a time", "And the LORD said", "In the beginning", "Blessed are"]

    def ask(prompt):
        body = json.dumps({"messages": [{"role": "user", "content": prompt}], "temperature": 0,
                           "max_tokens": a.max_tokens}).encode()
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            assert r.status == 200
            d = json.load(r)
        assert d["object"] == "chat.completion"
        return d["choices"][0]["message"]["content"]

    expected = {p: ask(p) for p in prompts}  # also warms up
    rss_before = rss_kib(server.pid)
    latencies, errors = [], []
    lock = threading.Lock()

    def client(c):
        for i in range(a.requests):
            p = prompts[(c + i) % len(prompts)]
            t = time.perf_counter()
            try:
                text = ask(p)
                if text != expected[p]:
                    raise AssertionError("reply %r != %r" % (text, expected[p]))
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    rss_after = rss_kib(server.pid)
    server.terminate()
    rc = server.wait(timeout=60)
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
    total = a.clients * a.requests
    print("%d clients x %d requests (--parallel %d, max_tokens %d): %d answered correctly, %d errors"
          % (a.clients, a.requests, a.parallel, a.max_tokens, len(latencies), len(errors)))
    print("%.1f requests/s; latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms" % (len(latencies) / wall, pct(0.5), pct(0.9), pct(0.99)))
    print("server RSS %.1f MiB before, %.1f MiB after; exit status %d after SIGTERM" % (rss_before / 1024, rss_after / 1024, rc))
    for e in errors[:5]:
        print("error:", e)
    sys.exit(0 if len(latencies) == total and rc == 0 else 1)


if __name__ == "__main__":
    main()
