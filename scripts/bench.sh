#!/usr/bin/env bash
# Load benchmark: classchat's relay against the Tornado reference (the seed), in the same run.
#
#   scripts/bench.sh            full run (1,000 clients, 10,000 idle connections), < 10 min
#   scripts/bench.sh --quick    smaller sizes, < 2 min
#   scripts/bench.sh --scenario routing [--quick] [-- extra generator args]
#
# Builds the release binary, then for each scenario starts a fresh `classchat serve` and a fresh
# Tornado reference (scripts/seed_both_server.py) on two free loopback ports, runs the load
# generator (benches/load.rs) against one then the other, and stops both. At the end it prints a
# markdown table. The raw output goes to $CARGO_TARGET_DIR/bench-results/<date>.log
# (target/bench-results by default).
#
# Descriptors: 10,000 idle clients need more than 10,000 open files in the generator and in each
# server, so the soft limit is raised to the hard limit (`ulimit -n "$(ulimit -Hn)"`); check
# that `ulimit -Hn` is at least 10,100.
set -euo pipefail

quick=0
scenarios=(broadcast routing slow connections)
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --scenario) scenarios=("$2"); shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target_dir

ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 10100 ]]; then
    echo "warning: only $(ulimit -n) open files allowed; the connections scenario will fall short" >&2
fi

if [[ $quick == 1 ]]; then
    sizes=(--clients 300 --messages 5000 --secs 1.5 --paced-secs 2 --route-messages 500
           --connections 1500 --slow-clients 2)
else
    sizes=(--clients 1000 --messages 20000 --secs 5 --paced-secs 5 --route-messages 2000
           --connections 10000 --slow-clients 5)
fi

python3 -c 'import tornado' 2>/dev/null || python3 -m pip install --quiet tornado

echo "== building (release)"
cargo build --release --quiet --bin classchat
cargo bench --quiet --bench load --no-run
relay_bin=$target_dir/release/classchat

results_dir=$target_dir/bench-results
mkdir -p "$results_dir"
log=$results_dir/$(date -u +%Y%m%dT%H%M%SZ).log
echo "== raw output: $log"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "tornado: $(python3 -c 'import tornado; print(tornado.version)'), python $(python3 -c 'import platform; print(platform.python_version())')"
    echo "sizes: ${sizes[*]} ${extra[*]}"
} | tee "$log"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $port" >&2
    return 1
}

relay_pid=""
seed_pid=""
stop_servers() {
    for pid in $relay_pid $seed_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $relay_pid $seed_pid; do
        wait "$pid" 2>/dev/null || true
    done
    relay_pid=""
    seed_pid=""
}
trap stop_servers EXIT

start_servers() {
    relay_port=$(free_port)
    "$relay_bin" serve --bind 127.0.0.1 --port "$relay_port" --rate 0 --rate-bytes 0 --max-per-address 0 --max-clients 20000 --no-announce \
        >>"$results_dir/relay.log" 2>&1 &
    relay_pid=$!
    seed_port=$(free_port)
    python3 scripts/seed_both_server.py --port "$seed_port" >>"$results_dir/seed.log" 2>&1 &
    seed_pid=$!
    wait_port "$relay_port"
    wait_port "$seed_port"
}

run_load() {
    local label=$1 port=$2 pid=$3 scenario=$4
    echo "== $scenario: $label (port $port, pid $pid)" | tee -a "$log"
    cargo bench --quiet --bench load -- --url "ws://127.0.0.1:$port" --server-pid "$pid" \
        --label "$label" --scenario "$scenario" "${sizes[@]}" "${extra[@]}" 2>&1 | tee -a "$log" \
        || echo "(the $label run reported an error)" | tee -a "$log"
}

# The paced broadcast phase must run at a rate the reference sustains, or its latency is only
# queueing. Calibrate: measure the reference's saturated broadcast rate now, on this machine, and
# pace both servers at half of it (at most 20 messages/s).
if [[ " ${scenarios[*]} " == *" broadcast "* || " ${scenarios[*]} " == *" slow "* ]]; then
    start_servers
    echo "== calibration: the reference's saturated broadcast rate" | tee -a "$log"
    cargo bench --quiet --bench load -- --url "ws://127.0.0.1:$seed_port" --server-pid "$seed_pid" \
        --label tornado-calibration --scenario broadcast "${sizes[@]}" "${extra[@]}" --paced-secs 0 \
        2>&1 | tee -a "$log" | grep -v '^RESULT' || true
    stop_servers
    paced_rate=$(python3 - "$log" <<'PY'
import json, sys
rate = None
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("RESULT "):
        r = json.loads(line[len("RESULT "):])
        if r.get("label") == "tornado-calibration":
            b = r["broadcast"]
            rate = b["saturated"]["deliveries_per_sec"] / max(1, b["clients"])
print(max(1, min(20, int(rate / 2))) if rate else 5)
PY
)
    echo "paced rate: $paced_rate messages/s (half the reference's saturated rate, at most 20)" | tee -a "$log"
    sizes+=(--rate "$paced_rate")
fi

for scenario in "${scenarios[@]}"; do
    start_servers
    run_load classchat "$relay_port" "$relay_pid" "$scenario"
    run_load tornado "$seed_port" "$seed_pid" "$scenario"
    stop_servers
done

echo
echo "== results ($(date -u '+%Y-%m-%d %H:%M UTC'))"
python3 - "$log" <<'PY' | tee -a "$log"
import json, sys

lines = open(sys.argv[1], encoding="utf-8").readlines()
results = {}
for line in lines:
    if line.startswith("RESULT "):
        r = json.loads(line[len("RESULT "):])
        results[(r["label"], r["scenario"])] = r

def get(label, scenario, *path):
    value = results.get((label, scenario))
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value

def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    if isinstance(v, float):
        return f"{v:.2f}{unit}"
    return f"{v:,}{unit}" if isinstance(v, int) else f"{v}{unit}"

def ratio(a, b, higher_is_better=True):
    if a is None or b is None or a == 0 or b == 0:
        return "n/a"
    return f"{(a / b if higher_is_better else b / a):.1f}×"

rows = []
def row(name, scenario, path, better=True, unit=""):
    c = get("classchat", scenario, *path)
    t = get("tornado", scenario, *path)
    rows.append((name, fmt(c, unit), fmt(t, unit), ratio(c, t, better) if better is not None else ""))

sat = ("broadcast", "saturated")
paced = ("broadcast", "paced")
row("broadcast: deliveries/s (saturated)", "broadcast", sat + ("deliveries_per_sec",))
row("broadcast: p50 latency, saturated (µs)", "broadcast", sat + ("latency_us", "p50"), False)
row("broadcast: p99 latency, saturated (µs)", "broadcast", sat + ("latency_us", "p99"), False)
row("broadcast: lost, saturated", "broadcast", sat + ("lost",), None)
row("broadcast: server CPU per delivery (µs)", "broadcast", sat + ("cpu", "server_cpu_us_per_unit"), False)
row("broadcast: server / generator cores, saturated", "broadcast", sat + ("cpu", "server_cores"), None)
rows[-1] = (rows[-1][0],
            f'{fmt(get("classchat", "broadcast", *sat, "cpu", "server_cores"))} / {fmt(get("classchat", "broadcast", *sat, "cpu", "generator_cores"))}',
            f'{fmt(get("tornado", "broadcast", *sat, "cpu", "server_cores"))} / {fmt(get("tornado", "broadcast", *sat, "cpu", "generator_cores"))}', "")
row("broadcast: server peak RSS, saturated (KiB)", "broadcast", sat + ("server_peak_rss_kib",), False)
row("broadcast paced: deliveries/s", "broadcast", paced + ("deliveries_per_sec",), None)
row("broadcast paced: p50 latency (µs)", "broadcast", paced + ("latency_us", "p50"), False)
row("broadcast paced: p99 latency (µs)", "broadcast", paced + ("latency_us", "p99"), False)
row("broadcast paced: max latency (µs)", "broadcast", paced + ("latency_us", "max"), False)
row("broadcast paced: lost", "broadcast", paced + ("lost",), None)
row("routing: routed/s", "routing", ("routing", "routed_per_sec"))
row("routing: p50 latency (µs)", "routing", ("routing", "latency_us", "p50"), False)
row("routing: p99 latency (µs)", "routing", ("routing", "latency_us", "p99"), False)
row("routing: lost / misrouted", "routing", ("routing", "lost"), None)
rows[-1] = (rows[-1][0],
            f'{fmt(get("classchat", "routing", "routing", "lost"))} / {fmt(get("classchat", "routing", "routing", "misrouted"))}',
            f'{fmt(get("tornado", "routing", "routing", "lost"))} / {fmt(get("tornado", "routing", "routing", "misrouted"))}', "")
row("routing: server CPU per message (µs)", "routing", ("routing", "cpu", "server_cpu_us_per_unit"), False)
row("routing: server / generator cores", "routing", ("routing", "cpu", "server_cores"), None)
rows[-1] = (rows[-1][0],
            f'{fmt(get("classchat", "routing", "routing", "cpu", "server_cores"))} / {fmt(get("classchat", "routing", "routing", "cpu", "generator_cores"))}',
            f'{fmt(get("tornado", "routing", "routing", "cpu", "server_cores"))} / {fmt(get("tornado", "routing", "routing", "cpu", "generator_cores"))}', "")
row("idle connections held", "connections", ("connections", "connected"), None)
row("idle: server RSS per connection (KiB)", "connections", ("connections", "rss_per_connection_kib"), False)
row("idle: server CPU per connection (µs)", "connections", ("connections", "cpu", "server_cpu_us_per_unit"), False)
row("slow: healthy p99 change, saturated (%)", "slow", ("p99_change_pct", "saturated"), None)
row("slow: healthy p99 change, paced (%)", "slow", ("p99_change_pct", "paced"), None)
row("slow: healthy p99 paced, without / with (µs)", "slow", ("baseline", "paced", "latency_us", "p99"), None)
rows[-1] = (rows[-1][0],
            f'{fmt(get("classchat", "slow", "baseline", "paced", "latency_us", "p99"))} / {fmt(get("classchat", "slow", "with_slow", "paced", "latency_us", "p99"))}',
            f'{fmt(get("tornado", "slow", "baseline", "paced", "latency_us", "p99"))} / {fmt(get("tornado", "slow", "with_slow", "paced", "latency_us", "p99"))}', "")
row("slow: healthy deliveries lost (with slow)", "slow", ("with_slow", "saturated", "lost"), None)
row("slow: slow clients disconnected", "slow", ("slow_disconnected",), None)
row("slow: kernel send queue to non-readers, peak (bytes)", "slow", ("slow_server_send_queue_peak_bytes",), None)
row("slow: server peak RSS with slow clients (KiB)", "slow", ("with_slow", "saturated", "server_peak_rss_kib"), False)

for line in lines:
    if line.startswith("paced rate:"):
        print(line.strip())
        break
print()
print("| figure | classchat | Tornado | classchat vs Tornado |")
print("|---|---:|---:|---:|")
for name, c, t, r in rows:
    print(f"| {name} | {c} | {t} | {r} |")
PY
