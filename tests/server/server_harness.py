"""The real `vkinfer serve` binary on loopback, for the pytest files here: `Server` starts it on a free
port, waits for /health and stops it with SIGINT. VKINFER_BIN and VKINFER_TEST_DATA come from CTest."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = os.environ.get("VKINFER_BIN", "")
DATA = Path(os.environ.get("VKINFER_TEST_DATA", Path(__file__).resolve().parents[1] / "data"))


class Server:
    def __init__(self, model, *args):
        env = dict(os.environ)
        self.proc = subprocess.Popen([BIN, "serve", "--model", str(model), "--port", "0", *args],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.log = []
        line = self.proc.stderr.readline()
        self.log.append(line)
        assert "serving on http://" in line, line + self.proc.stderr.read()
        self.base = line.split("serving on ")[1].split(" ")[0]
        # The rest of stderr is drained so the server never blocks on it.
        self.reader = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self.reader.start()
        self.first_health = self.request("GET", "/health")[0]
        deadline = time.time() + 120
        while self.request("GET", "/health")[0] != 200:
            assert self.proc.poll() is None, "".join(self.log)
            assert time.time() < deadline, "the server did not become ready"
            time.sleep(0.1)

    def request(self, method, path, body=None, raw=None, timeout=120):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path, body):
        status, text = self.request("POST", path, body)
        return status, json.loads(text)

    def metric(self, name):
        status, text = self.request("GET", "/metrics")
        assert status == 200
        for line in text.splitlines():
            if line.startswith(f"vkinfer_{name} "):
                return float(line.split()[1])
        raise KeyError(name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode
