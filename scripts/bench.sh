#!/usr/bin/env bash
# Load benchmark: classchat's relay against the Tornado reference (the seed), in the same run.
#
#   scripts/bench.sh            full run (1,000 clients, 10,000 idle connections), < 10 min
#   scripts/bench.sh --quick    smaller sizes, < 4 min
#   scripts/bench.sh --scenario routing[,flood,...] [--quick] [-- extra generator args]
#   scripts/bench.sh --cluster [--quick]   one relay alone against two relays on one NATS server
#
# Scenarios: broadcast routing slow connections flood route-flood stall storm (all by default).
# Builds the release binary, then for each scenario starts a fresh `classchat serve` and a fresh
# Tornado reference (scripts/seed_both_server.py) on two free loopback ports, runs the load
# generator (benches/load.rs) against one then the other, and stops both. `stall` and `storm`
# run against classchat only: the reference has no stall timeout and cannot resume. At the end
# it prints a markdown table. The raw output goes to $CARGO_TARGET_DIR/bench-results/<date>.log
# (target/bench-results by default).
#
# --cluster runs the broadcast and routing scenarios (or those given with --scenario) against one
# `classchat serve` alone, then against two `classchat serve --cluster` on one `nats-server -js`
# (Debian's nats-server; NATS_SERVER names another binary), all on this machine in the same run.
# The generator's connections alternate between the two relays, so half of all deliveries cross
# from one relay to the other; the server's CPU is both relays' plus the NATS server's. No Tornado.
#
# Descriptors: 10,000 idle clients need more than 10,000 open files in the generator and in each
# server, so the soft limit is raised to the hard limit (`ulimit -n "$(ulimit -Hn)"`); check
# that `ulimit -Hn` is at least 10,100.
set -euo pipefail

quick=0
cluster=0
chosen=""
scenarios=(broadcast routing slow connections flood route-flood stall storm)
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --scenario) IFS=, read -ra scenarios <<<"$2"; chosen=1; shift ;;
        --) shift; extra=("$@"); break ;;
        --cluster) cluster=1 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ $cluster == 1 && -z $chosen ]]; then
    scenarios=(broadcast routing)
fi

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
           --connections 1500 --slow-clients 2 --flood-messages 3000 --route-flood-messages 100
           --stall-messages 2000 --storm-rate 100 --storm-before-secs 1 --storm-after-secs 3)
else
    sizes=(--clients 1000 --messages 20000 --secs 5 --paced-secs 5 --route-messages 2000
           --connections 10000 --slow-clients 5 --flood-messages 10000 --route-flood-messages 200
           --stall-messages 5000 --storm-rate 200 --storm-before-secs 2 --storm-after-secs 5)
fi
# The relay's stall timeout in the stall scenario (when this build has the flag).
stall_secs=5

if [[ $cluster == 1 ]]; then
    nats_bin=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
    [[ -x $nats_bin ]] || { echo "--cluster needs nats-server (apt-get install nats-server)" >&2; exit 2; }
else
    python3 -c 'import tornado' 2>/dev/null || python3 -m pip install --quiet tornado
fi

echo "== building (release)"
cargo build --release --quiet --bin classchat
cargo bench --quiet --bench load --no-run
relay_bin=$target_dir/release/classchat
if "$relay_bin" serve --help | grep -q -- '--stall-secs'; then
    relay_stall=(--stall-secs "$stall_secs")
else
    relay_stall=()
    echo "note: this classchat has no --stall-secs; the stall scenario runs with its built-in behaviour"
fi

results_dir=$target_dir/bench-results
mkdir -p "$results_dir"
log=$results_dir/$(date -u +%Y%m%dT%H%M%SZ).log
echo "== raw output: $log"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ $cluster == 1 ]]; then
        echo "nats-server: $("$nats_bin" --version 2>&1 | head -1)"
    else
        echo "tornado: $(python3 -c 'import tornado; print(tornado.version)'), python $(python3 -c 'import platform; print(platform.python_version())')"
    fi
    echo "sizes: ${sizes[*]} ${extra[*]}"
    echo "classchat: $(git describe --always --dirty 2>/dev/null || echo unknown) ${relay_stall[*]}"
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
relay2_pid=""
nats_pid=""
nats_dir=""
stop_servers() {
    for pid in $relay_pid $relay2_pid $seed_pid $nats_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $relay_pid $relay2_pid $seed_pid $nats_pid; do
        wait "$pid" 2>/dev/null || true
    done
    relay_pid=""
    relay2_pid=""
    seed_pid=""
    nats_pid=""
    if [[ -n $nats_dir ]]; then rm -rf "$nats_dir"; nats_dir=""; fi
}
trap stop_servers EXIT

start_servers() {
    relay_port=$(free_port)
    "$relay_bin" serve --bind 127.0.0.1 --port "$relay_port" --rate 0 --rate-bytes 0 --max-per-address 0 \
        --max-clients 20000 --no-announce "$@" >>"$results_dir/relay.log" 2>&1 &
    relay_pid=$!
    seed_port=$(free_port)
    python3 scripts/seed_both_server.py --port "$seed_port" >>"$results_dir/seed.log" 2>&1 &
    seed_pid=$!
    wait_port "$relay_port"
    wait_port "$seed_port"
}

relay_flags=(--bind 127.0.0.1 --rate 0 --rate-bytes 0 --max-per-address 0 --max-clients 20000
             --no-announce)

start_relay_alone() {
    relay_port=$(free_port)
    "$relay_bin" serve --port "$relay_port" "${relay_flags[@]}" >>"$results_dir/relay.log" 2>&1 &
    relay_pid=$!
    wait_port "$relay_port"
}

# A NATS server with JetStream and two relays on it.
start_cluster() {
    nats_port=$(free_port)
    nats_dir=$(mktemp -d)
    "$nats_bin" -js -a 127.0.0.1 -p "$nats_port" -sd "$nats_dir" >>"$results_dir/nats.log" 2>&1 &
    nats_pid=$!
    wait_port "$nats_port"
    relay_port=$(free_port)
    "$relay_bin" serve --port "$relay_port" "${relay_flags[@]}" --metrics \
        --cluster "nats://127.0.0.1:$nats_port" --relay-name bench-a >>"$results_dir/relay.log" 2>&1 &
    relay_pid=$!
    relay2_port=$(free_port)
    "$relay_bin" serve --port "$relay2_port" "${relay_flags[@]}" --metrics \
        --cluster "nats://127.0.0.1:$nats_port" --relay-name bench-b >>"$results_dir/relay.log" 2>&1 &
    relay2_pid=$!
    wait_port "$relay_port"
    wait_port "$relay2_port"
}

# A counter summed over both relays' /metrics.
cluster_counter() {
    python3 - "$1" "$relay_port" "$relay2_port" <<'PY'
import sys, urllib.request
name, total = sys.argv[1], 0
for port in sys.argv[2:]:
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total += sum(int(float(l.split()[1])) for l in page.splitlines() if l.startswith(name + " "))
print(total)
PY
}

run_cluster_load() {
    local scenario=$1
    echo "== $scenario: cluster (ports $relay_port and $relay2_port, NATS pid $nats_pid)" | tee -a "$log"
    cargo bench --quiet --bench load -- --url "ws://127.0.0.1:$relay_port" --server-pid "$relay_pid" \
        --also-url "ws://127.0.0.1:$relay2_port" --also-pid "$relay2_pid" --also-pid "$nats_pid" \
        --label cluster --scenario "$scenario" "${sizes[@]}" "${extra[@]}" 2>&1 | tee -a "$log" \
        || echo "(the cluster run reported an error)" | tee -a "$log"
    echo "CLUSTER $scenario forwarded_out=$(cluster_counter classchat_cluster_forwarded_out_total) forwarded_in=$(cluster_counter classchat_cluster_forwarded_in_total)" | tee -a "$log"
    # Whatever was still on its way when the generator stopped waiting arrives now or never.
    sleep 5
    echo "CLUSTER $scenario-5s-later forwarded_out=$(cluster_counter classchat_cluster_forwarded_out_total) forwarded_in=$(cluster_counter classchat_cluster_forwarded_in_total)" | tee -a "$log"
}

run_load() {
    local label=$1 port=$2 pid=$3 scenario=$4
    echo "== $scenario: $label (port $port, pid $pid)" | tee -a "$log"
    cargo bench --quiet --bench load -- --url "ws://127.0.0.1:$port" --server-pid "$pid" \
        --label "$label" --scenario "$scenario" "${sizes[@]}" "${extra[@]}" 2>&1 | tee -a "$log" \
        || echo "(the $label run reported an error)" | tee -a "$log"
}

if [[ $cluster == 1 ]]; then
    for scenario in "${scenarios[@]}"; do
        start_relay_alone
        echo "load average before $scenario: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
        run_load classchat "$relay_port" "$relay_pid" "$scenario"
        stop_servers
        start_cluster
        echo "load average before $scenario (cluster): $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
        run_cluster_load "$scenario"
        stop_servers
    done
    echo
    echo "== results ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    python3 - "$log" <<'PY' | tee -a "$log"
import json, sys

results, forwarded = {}, {}
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("RESULT "):
        r = json.loads(line[len("RESULT "):])
        results[(r["label"], r["scenario"])] = r
    elif line.startswith("CLUSTER "):
        parts = line.split()
        forwarded[parts[1]] = dict(p.split("=") for p in parts[2:])

def get(label, scenario, *path):
    value = results.get((label, scenario))
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value

def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}"
    return f"{v:,}"

def change(alone, cluster):
    if alone is None or cluster is None:
        return ""
    diff = cluster - alone
    return f"{'+' if diff >= 0 else ''}{fmt(diff)}"

rows = []
def row(name, scenario, *path):
    a, c = get("classchat", scenario, *path), get("cluster", scenario, *path)
    rows.append((name, fmt(a), fmt(c), change(a, c)))

sat, paced = ("broadcast", "saturated"), ("broadcast", "paced")
row("broadcast: deliveries/s (saturated)", "broadcast", *sat, "deliveries_per_sec")
clients = get("cluster", "broadcast", "broadcast", "clients")
for label in ("classchat", "cluster"):
    d = get(label, "broadcast", *sat, "deliveries_per_sec")
    n = get(label, "broadcast", "broadcast", "clients")
    results.setdefault((label, "broadcast"), {})["messages_per_sec"] = d / n if d and n else None
row("broadcast: messages/s (each through NATS in the cluster)", "broadcast", "messages_per_sec")
row("broadcast: p50 latency, saturated (µs)", "broadcast", *sat, "latency_us", "p50")
row("broadcast: p99 latency, saturated (µs)", "broadcast", *sat, "latency_us", "p99")
row("broadcast: server CPU per delivery (µs)", "broadcast", *sat, "cpu", "server_cpu_us_per_unit")
row("broadcast: server cores, saturated", "broadcast", *sat, "cpu", "server_cores")
row("broadcast: lost, saturated", "broadcast", *sat, "lost")
row("broadcast paced: p50 latency (µs)", "broadcast", *paced, "latency_us", "p50")
row("broadcast paced: p99 latency (µs)", "broadcast", *paced, "latency_us", "p99")
row("broadcast paced: lost", "broadcast", *paced, "lost")
row("routing: routed/s (each through NATS in the cluster)", "routing", "routing", "routed_per_sec")
row("routing: p50 latency (µs)", "routing", "routing", "latency_us", "p50")
row("routing: p99 latency (µs)", "routing", "routing", "latency_us", "p99")
row("routing: server CPU per message (µs)", "routing", "routing", "cpu", "server_cpu_us_per_unit")
row("routing: server cores", "routing", "routing", "cpu", "server_cores")
row("routing: lost", "routing", "routing", "lost")
row("routing: misrouted", "routing", "routing", "misrouted")
print()
print("| figure | one relay | two relays + NATS | change |")
print("|---|---:|---:|---:|")
for name, a, c, d in rows:
    if a == "n/a" and c == "n/a":
        continue
    print(f"| {name} | {a} | {c} | {d} |")
for scenario, counts in forwarded.items():
    print(f"\n{scenario}: messages the relays published to NATS {counts.get('forwarded_out')}, "
          f"read back from the other relay {counts.get('forwarded_in')}")
PY
    exit 0
fi

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
    case "$scenario" in
        stall) start_servers "${relay_stall[@]}" ;;
        *) start_servers ;;
    esac
    echo "load average before $scenario: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
    run_load classchat "$relay_port" "$relay_pid" "$scenario"
    case "$scenario" in
        stall|storm) echo "== $scenario: tornado not run (no stall timeout, no resume)" | tee -a "$log" ;;
        *) run_load tornado "$seed_port" "$seed_pid" "$scenario" ;;
    esac
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

def both(name, scenario, *paths, fmt_one=None):
    """A row whose cells join several figures with ' / '."""
    cells = []
    for label in ("classchat", "tornado"):
        if (label, scenario) not in results:
            cells.append("not run")
            continue
        values = [get(label, scenario, *p) for p in paths]
        cells.append(fmt_one(values) if fmt_one else " / ".join(fmt(v) for v in values))
    rows.append((name, cells[0], cells[1], ""))

def of(values):
    got, expected = values
    return f"{fmt(got)} of {fmt(expected)}"

def lost_pct(values):
    lost, expected = values
    if lost is None or not expected:
        return fmt(lost)
    return f"{lost:,} ({lost * 100 / expected:.2f} %)"

fl = ("flood",)
row("flood: deliveries/s (open loop, no window)", "flood", fl + ("deliveries_per_sec",))
both("flood: delivered of expected", "flood", fl + ("deliveries",), fl + ("expected",), fmt_one=of)
both("flood: lost (skipped or on a cut connection)", "flood", fl + ("lost",), fl + ("expected",), fmt_one=lost_pct)
both("flood: late (connected, not delivered when nothing moved for 3 s)", "flood", fl + ("late",), fl + ("expected",), fmt_one=lost_pct)
row("flood: receivers the server cut", "flood", fl + ("receivers_cut",), None)
row("flood: server CPU per delivery (µs)", "flood", fl + ("cpu", "server_cpu_us_per_unit"), False)
both("flood: server / generator cores", "flood", fl + ("cpu", "server_cores"), fl + ("cpu", "generator_cores"))
both("flood: server peak RSS, sampled / VmHWM (KiB)", "flood", fl + ("server_peak_rss_kib",), ("server_vmhwm_kib",))
rf = ("route_flood",)
row("route flood: routed/s (no window)", "route-flood", rf + ("routed_per_sec",))
both("route flood: routed of sent", "route-flood", rf + ("routed",), rf + ("sent",), fmt_one=of)
both("route flood: lost / late / misrouted", "route-flood", rf + ("lost",), rf + ("late",), rf + ("misrouted",))
row("route flood: server CPU per message (µs)", "route-flood", rf + ("cpu", "server_cpu_us_per_unit"), False)
both("route flood: server / generator cores", "route-flood", rf + ("cpu", "server_cores"), rf + ("cpu", "generator_cores"))
both("route flood: server peak RSS, sampled / VmHWM (KiB)", "route-flood", rf + ("server_peak_rss_kib",), ("server_vmhwm_kib",))
both("stall: flood with a slow and a stopped reader: deliveries/s", "stall", ("flood", "deliveries_per_sec"))
both("stall: healthy receivers: lost / late (receivers)", "stall", ("flood", "lost"), ("flood", "late"), ("flood", "receivers"),
     fmt_one=lambda v: f"{fmt(v[0])} / {fmt(v[1])} ({fmt(v[2])})")
both("stall: slow reader (msgs/s) got of sent", "stall", ("slow_read_msgs_per_sec",), ("slow", "got"), ("slow", "sent"),
     fmt_one=lambda v: f"({fmt(v[0])}/s) {fmt(v[1])} of {fmt(v[2])}")
both("stall: stopped reader cut, s after its socket stopped taking bytes", "stall", ("stopped", "cut_after_stall_s"), ("stopped", "stall_secs"),
     fmt_one=lambda v: f"{fmt(v[0])} (stall {fmt(v[1])} s)")
both("stall: how the stopped reader's connection ended", "stall", ("stopped", "how"))
st = ("storm",)
both("storm: all clients reconnected after (s)", "storm", st + ("all_back_s",))
both("storm: reconnect p50 / p99 (µs); accept-queue overflows", "storm", st + ("reconnect_us", "p50"), st + ("reconnect_us", "p99"), st + ("listen_overflows",),
     fmt_one=lambda v: f"{fmt(v[0])} / {fmt(v[1])}; {fmt(v[2])}")
both("storm: whole room caught up after (s)", "storm", st + ("caught_up_s",))
both("storm: missing / duplicates (clients affected)", "storm", st + ("missing",), st + ("clients_missing",), st + ("duplicates",), st + ("clients_with_duplicates",),
     fmt_one=lambda v: f"{fmt(v[0])} ({fmt(v[1])}) / {fmt(v[2])} ({fmt(v[3])})")
both("storm: clients cut (of them before the drop)", "storm", st + ("cut",), st + ("cut_before_drop",),
     fmt_one=lambda v: f"{fmt(v[0])} ({fmt(v[1])})")
both("storm: welcomes with recovered: true", "storm", st + ("recovered_true",), st + ("clients",), fmt_one=of)
both("storm: server CPU per delivery (µs) / peak RSS (KiB)", "storm", st + ("cpu", "server_cpu_us_per_unit"), st + ("server_peak_rss_kib",))

for line in lines:
    if line.startswith("paced rate:"):
        print(line.strip())
        break
print()
print("| figure | classchat | Tornado | classchat vs Tornado |")
print("|---|---:|---:|---:|")
for name, c, t, r in rows:
    if all(set(cell.split(" / ")) <= {"n/a", "not run"} for cell in (c, t)):
        continue  # A scenario this run left out.
    print(f"| {name} | {c} | {t} | {r} |")
PY
