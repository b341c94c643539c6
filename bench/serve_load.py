#!/usr/bin/env python3
"""Concurrency driver for `vkinfer serve`: aggregate decode throughput and time to first token at
several numbers of concurrent streams, against a server it starts on loopback (or one already
running, --base). Bounded: every request has a token limit and a timeout, every phase a deadline.

  bench/serve_load.py --bin build/vkinfer --synthetic gpt2-124m --streams 1,4,16 --prompt 64 --tokens 32

For each concurrency N it runs `--reps` rounds; a round starts N completions at once (the same
prompt length, distinct prompts, greedy) and reports
  - decode tok/s: the aggregate decode rate once the prompts are in, N * (T - t) / (wall(T) -
    wall(t)) from a round with max_tokens T = --tokens and one with t = --tokens / 4: the
    difference cancels the prefill and the first token, which the end-to-end rate includes;
  - end-to-end tok/s: completion tokens of the T round (the responses' usage) / its wall time;
  - TTFT: each streamed request's time from sending to its first chunk (the first token), all
    N sent at once.
Medians over rounds (TTFT: over every request of every round) are printed and, with --json, written.
The functions here are also the test suite's driver (tests/server/test_load.py)."""
import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse


def _connection(base, timeout):
    url = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)


def completion(base, body, timeout=300.0, disconnect_after=None):
    """One /v1/completions request. Streamed (body["stream"]) it reads the server-sent events and
    returns {"status", "text", "chunks", "ttft", "finish_reason", "seconds"}; with disconnect_after=k
    it closes the connection after k chunks (a client that goes away mid-stream). Not streamed it
    returns {"status", "body", "seconds"}."""
    start = time.monotonic()
    conn = _connection(base, timeout)
    try:
        conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        res = conn.getresponse()
        if not body.get("stream") or res.status != 200:
            text = res.read().decode()
            return {"status": res.status, "body": json.loads(text) if text else None,
                    "seconds": time.monotonic() - start}
        out = {"status": 200, "text": "", "chunks": 0, "ttft": None, "finish_reason": None, "done": False}
        for raw in res:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[len("data: "):]
            if data == "[DONE]":
                out["done"] = True
                break
            chunk = json.loads(data)
            if out["ttft"] is None:
                out["ttft"] = time.monotonic() - start
            choice = chunk["choices"][0]
            out["text"] += choice.get("text") or ""
            out["finish_reason"] = choice.get("finish_reason") or out["finish_reason"]
            out["chunks"] += 1
            if disconnect_after is not None and out["chunks"] >= disconnect_after:
                break
        out["seconds"] = time.monotonic() - start
        return out
    finally:
        conn.close()


def run_concurrently(jobs, deadline_s):
    """Runs every job (a no-argument callable) on its own thread; job i starts after its own delay
    when given as (delay_s, callable). Returns the results in order, or raises when a job fails or
    the deadline passes."""
    results = [None] * len(jobs)
    errors = []

    def worker(i, delay, job):
        try:
            time.sleep(delay)
            results[i] = job()
        except Exception as e:  # reported below, with the job's index
            errors.append((i, e))

    threads = []
    for i, job in enumerate(jobs):
        delay, call = job if isinstance(job, tuple) else (0.0, job)
        threads.append(threading.Thread(target=worker, args=(i, delay, call), daemon=True))
    for t in threads:
        t.start()
    end = time.monotonic() + deadline_s
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"requests still running after {deadline_s} s")
    if errors:
        raise RuntimeError(f"request {errors[0][0]} failed: {errors[0][1]!r}")
    return results


def _round(base, prompts, max_tokens, timeout):
    """N concurrent greedy completions; returns (completion tokens, wall seconds)."""
    bodies = [{"prompt": p, "max_tokens": max_tokens, "temperature": 0} for p in prompts]
    start = time.monotonic()
    done = run_concurrently([lambda b=b: completion(base, b, timeout) for b in bodies], timeout)
    wall = time.monotonic() - start
    for r in done:
        if r["status"] != 200:
            raise RuntimeError(f"HTTP {r['status']}: {r['body']}")
        if r["body"]["usage"]["completion_tokens"] != max_tokens:
            raise RuntimeError(f"a request stopped early ({r['body']['usage']}): the rates would be wrong")
    return sum(r["body"]["usage"]["completion_tokens"] for r in done), wall


def measure(base, streams, prompt_tokens, max_tokens, reps, vocab, seed=0, timeout=600.0):
    """Rounds of `streams` concurrent greedy requests (see the module's doc)."""
    rng = random.Random(seed)
    short = max(1, max_tokens // 4)
    decode, end_to_end, ttfts = [], [], []
    for _ in range(reps):
        prompts = [[rng.randrange(vocab) for _ in range(prompt_tokens)] for _ in range(streams)]
        _, short_wall = _round(base, prompts, short, timeout)
        tokens, wall = _round(base, prompts, max_tokens, timeout)
        decode.append(streams * (max_tokens - short) / (wall - short_wall))
        end_to_end.append(tokens / wall)
        bodies = [{"prompt": p, "max_tokens": short, "temperature": 0, "stream": True} for p in prompts]
        streamed = run_concurrently([lambda b=b: completion(base, b, timeout) for b in bodies], timeout)
        ttfts.extend(r["ttft"] for r in streamed)
    return {"streams": streams, "decode_tok_per_s": statistics.median(decode), "decode_rounds": decode,
            "end_to_end_tok_per_s": statistics.median(end_to_end),
            "ttft_median_s": statistics.median(ttfts), "ttft_max_s": max(ttfts)}


class Served:
    """`vkinfer serve ... --port 0` as a child process, stopped with SIGINT."""

    def __init__(self, binary, args, ready_timeout=600.0):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", *args], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)
        line = self.proc.stderr.readline()
        if "serving on http://" not in line:
            raise RuntimeError(line + self.proc.stderr.read())
        self.base = line.split("serving on ")[1].split(" ")[0]
        self.log = [line]
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        end = time.monotonic() + ready_timeout
        while True:
            try:
                conn = _connection(self.base, 5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("the server did not become ready:\n" + "".join(self.log))
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)
        return self.proc.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ.get("VKINFER_BIN", "build/vkinfer"))
    parser.add_argument("--base", help="a running server's URL (then no server is started)")
    parser.add_argument("--model", help="model folder or .gguf for the server")
    parser.add_argument("--synthetic", help="a synthetic shape for the server (gpt2-124m, llama-1b)")
    parser.add_argument("--vocab", type=int, default=50257, help="prompt ids are drawn below this")
    parser.add_argument("--streams", default="1,4,16")
    parser.add_argument("--prompt", type=int, default=64, help="prompt tokens per request")
    parser.add_argument("--tokens", type=int, default=32, help="max_tokens per request")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("server_args", nargs="*", help="more `vkinfer serve` options, after --")
    args = parser.parse_args()
    counts = [int(x) for x in args.streams.split(",")]
    server = None
    base = args.base
    if not base:
        serve_args = ["--max-running", str(max(counts)), "--max-queue", str(4 * max(counts)), *args.server_args]
        if args.synthetic:
            serve_args += ["--synthetic", args.synthetic]
        if args.model:
            serve_args += ["--model", args.model]
        server = Served(args.bin, serve_args)
        base = server.base
    try:
        # One small request first: nothing below pays for a cold start.
        completion(base, {"prompt": [1, 2, 3], "max_tokens": 2, "temperature": 0})
        results = []
        for n in counts:
            r = measure(base, n, args.prompt, args.tokens, args.reps, args.vocab)
            results.append(r)
            print(f"streams {n:3d}: decode {r['decode_tok_per_s']:7.1f} tok/s aggregate (rounds "
                  f"{', '.join(f'{x:.1f}' for x in r['decode_rounds'])}), end to end "
                  f"{r['end_to_end_tok_per_s']:.1f} tok/s, TTFT median {1000 * r['ttft_median_s']:.0f} ms, "
                  f"max {1000 * r['ttft_max_s']:.0f} ms", flush=True)
        single = results[0]["decode_tok_per_s"] if counts[0] == 1 else None
        if single:
            for r in results[1:]:
                print(f"streams {r['streams']:3d}: decode {r['decode_tok_per_s'] / single:.2f}x one stream")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"prompt": args.prompt, "tokens": args.tokens, "results": results}, f, indent=1)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
