#!/usr/bin/env bash
# MPI tensor parallelism through the real binary: 2 ranks (one process each)
# give the same greedy tokens as one process, only rank 0 prints, and a rank
# that fails makes mpirun exit non-zero within seconds.
set -euo pipefail
bin="$1"; model="$2"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
export OMPI_MCA_rmaps_base_oversubscribe=1
ids="5,17,42,99,3,250,7,61"
args=(generate --model "$model" --prompt-ids "$ids" --max-new-tokens 16 --ignore-eos --json)

single=$("$bin" "${args[@]}" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["new_ids"])')
out=$(timeout 120 mpirun --oversubscribe -np 2 "$bin" "${args[@]}" --tp 2)
lines=$(printf '%s\n' "$out" | grep -c '^{' || true)
[ "$lines" = 1 ] || { echo "expected one JSON line (rank 0 only), got $lines:"; echo "$out"; exit 1; }
split=$(printf '%s\n' "$out" | grep '^{' | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["new_ids"])')
[ "$single" = "$split" ] || { echo "tp=2 over MPI gave $split, one process gave $single"; exit 1; }
echo "MPI tp=2 tokens match: $split"

# Pipeline x tensor parallelism: 2 stages x tp 2 = 4 ranks, one process each;
# only the last stage's first rank prints.
out=$(timeout 180 mpirun --oversubscribe -np 4 "$bin" "${args[@]}" --tp 2 --pp 2)
lines=$(printf '%s\n' "$out" | grep -c '^{' || true)
[ "$lines" = 1 ] || { echo "pp=2 x tp=2: expected one JSON line, got $lines:"; echo "$out"; exit 1; }
split=$(printf '%s\n' "$out" | grep '^{' | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["new_ids"])')
[ "$single" = "$split" ] || { echo "pp=2 x tp=2 over MPI gave $split, one process gave $single"; exit 1; }
echo "MPI pp=2 x tp=2 tokens match: $split"
# A world that does not hold pp x tp ranks is one clear error.
set +e
err=$(timeout 60 mpirun --oversubscribe -np 2 "$bin" "${args[@]}" --tp 2 --pp 2 2>&1 >/dev/null)
code=$?
set -e
[ "$code" != 0 ] && printf '%s' "$err" | grep -q "np 4" || { echo "pp 2 x tp 2 on 2 ranks: exit $code, said: $err"; exit 1; }
echo "pp x tp != world: refused"

# BERT at tp 2 over MPI: the logits of one process within 1e-5.
bert="$(dirname "$0")/data/models/bert2"
cargs=(classify --model "$bert" --input-ids 2,15,7,9,21,3 --json)
one=$("$bin" "${cargs[@]}")
two=$(timeout 120 mpirun --oversubscribe -np 2 "$bin" "${cargs[@]}" --tp 2)
python3 - "$one" "$two" <<'PY' || { echo "classify tp=2 over MPI differs: $two vs $one"; exit 1; }
import json, sys
one, two = json.loads(sys.argv[1]), [json.loads(l) for l in sys.argv[2].splitlines() if l.startswith("{")]
assert len(two) == 1, f"expected one JSON line (rank 0 only), got {len(two)}"
assert max(abs(a - b) for a, b in zip(one["logits"], two[0]["logits"])) <= 1e-5
PY
echo "MPI classify tp=2 logits match"

# Sentence embeddings at tp 2 over MPI: one process's vectors within 1e-5.
st="$(dirname "$0")/data/models/st_cls_max"
eargs=(embed --model "$st" --text "The quick brown fox" --text "jumps over the lazy dog" --json)
one=$("$bin" "${eargs[@]}")
two=$(timeout 120 mpirun --oversubscribe -np 2 "$bin" "${eargs[@]}" --tp 2)
python3 - "$one" "$two" <<'PY' || { echo "embed tp=2 over MPI differs: $two vs $one"; exit 1; }
import json, sys
one, two = json.loads(sys.argv[1]), [json.loads(l) for l in sys.argv[2].splitlines() if l.startswith("{")]
assert len(two) == 1, f"expected one JSON object (rank 0 only), got {len(two)}"
for a, b in zip(one["embeddings"], two[0]["embeddings"]):
    assert len(a) == len(b) == one["dim"] and max(abs(x - y) for x, y in zip(a, b)) <= 1e-5
PY
echo "MPI embed tp=2 vectors match"

# serve under MPI: rank 0 serves HTTP and broadcasts each step's orders to
# rank 1; its greedy completion equals one process's generate, and SIGINT to
# mpirun ends the job within seconds (mpirun itself reports an interrupted
# job with a non-zero code, whatever the ranks do).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve_log=$(mktemp)
mpirun --oversubscribe -np 2 "$bin" serve --model "$model" --tp 2 --port "$port" 2>"$serve_log" &
serve_pid=$!
want=$("$bin" generate --model "$model" --prompt-ids "$ids" --max-new-tokens 16 --json |
       python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["text"])')
python3 - "$port" "$ids" "$want" <<'PY' || { kill -9 "$serve_pid"; cat "$serve_log"; echo "serve over MPI failed"; exit 1; }
import json, sys, time, urllib.request
port, ids, want = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], sys.argv[3]
base = f"http://127.0.0.1:{port}"
deadline = time.time() + 120
while True:
    try:
        if urllib.request.urlopen(base + "/health", timeout=5).status == 200:
            break
    except Exception:
        pass
    assert time.time() < deadline, "serve under mpirun did not become ready"
    time.sleep(0.2)
req = urllib.request.Request(base + "/v1/completions", method="POST", headers={"Content-Type": "application/json"},
                             data=json.dumps({"prompt": ids, "max_tokens": 16, "temperature": 0}).encode())
got = json.loads(urllib.request.urlopen(req, timeout=60).read())["choices"][0]["text"]
assert got == want, (got, want)
PY
# Idle, no rank may keep a core busy (Open MPI's blocking broadcast would
# poll at 100% in the follower): CPU seconds of each rank over 3 s of idle.
python3 - "$port" <<'PY' || { kill -9 "$serve_pid"; cat "$serve_log"; echo "an idle MPI server burns CPU"; exit 1; }
import os, sys, time
port = sys.argv[1]
def ranks():
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and port.encode() in cmd and not cmd[0].endswith(b"mpirun"):
            out.append(pid)
    return out
def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
pids = ranks()
assert len(pids) == 2, pids
time.sleep(1)
before = {p: cpu(p) for p in pids}
time.sleep(3)
used = {p: (cpu(p) - before[p]) / 3 for p in pids}
print("idle CPU share per rank:", used)
assert all(u < 0.25 for u in used.values()), used
PY
kill -INT "$serve_pid"
for _ in $(seq 1 150); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$serve_pid" 2>/dev/null; then
  kill -9 "$serve_pid"; cat "$serve_log"; echo "serve under mpirun still running 30 s after SIGINT"; exit 1
fi
wait "$serve_pid" || true
echo "MPI serve tp=2: completion matches, SIGINT ends the job"

start=$(date +%s)
set +e
VKINFER_TEST_FAIL_RANK=1 timeout 60 mpirun --oversubscribe -np 2 "$bin" "${args[@]}" --tp 2 >/dev/null 2>&1
code=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$code" != 0 ] || { echo "a failing rank left mpirun exiting 0"; exit 1; }
[ "$code" != 124 ] || { echo "a failing rank made mpirun hang (timeout)"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "mpirun took ${elapsed}s to exit after a rank failed"; exit 1; }
echo "failing rank: mpirun exited $code after ${elapsed}s"
