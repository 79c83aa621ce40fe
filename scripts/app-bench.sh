#!/usr/bin/env bash
# The real window under Xvfb: time from start to the first frame, and CPU use at rest.
#
# Usage: scripts/app-bench.sh [path/to/classchat]
#   Without a path it builds the release binary first.
# Needs: Xvfb and xdotool (Debian: xvfb xdotool). Linux only (reads /proc).
#
# First frame: eframe keeps the window hidden until it has painted its first frame, so the time
# from exec to the window becoming visible (polled every 10 ms) is the time to the first frame.
# Idle: after 3 s to settle, the process's user+system CPU over IDLE_SECONDS (default 10) from
# /proc/PID/stat, on the start screen and while hosting a chat with one terminal client in it.
# Prints one line per figure and a JSON summary line.
set -euo pipefail

SCRIPT=app-bench
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
need_tools Xvfb xdotool

IDLE_SECONDS=${IDLE_SECONDS:-10}
RUNS=${RUNS:-3}
export LIBGL_ALWAYS_SOFTWARE=1

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$WORK/display" ]] && break; sleep 0.1; done
[[ -s "$WORK/display" ]] || fail "Xvfb did not start: $(cat "$WORK/xvfb.log")"
export DISPLAY=":$(head -n1 "$WORK/display")"

now_ms() { date +%s%3N; }

# Starts the window with the given arguments and sets APP_PID and FIRST_FRAME_MS.
start_window() {
    local log=$1; shift
    local started
    started=$(now_ms)
    "$BIN" "$@" >"$log" 2>&1 &
    APP_PID=$!
    PIDS+=("$APP_PID")
    local deadline=$((started + 30000))
    until xdotool search --onlyvisible --pid "$APP_PID" >/dev/null 2>&1; do
        kill -0 "$APP_PID" 2>/dev/null || fail "classchat exited; its log: $(cat "$log")"
        (( $(now_ms) < deadline )) || fail "no visible window after 30 s"
        sleep 0.01
    done
    FIRST_FRAME_MS=$(( $(now_ms) - started ))
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# CPU percent of PID over IDLE_SECONDS, from utime+stime in /proc/PID/stat.
cpu_percent() {
    local pid=$1 ticks before after
    ticks=$(getconf CLK_TCK)
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep "$IDLE_SECONDS"
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    awk -v d=$((after - before)) -v t="$ticks" -v s="$IDLE_SECONDS" 'BEGIN { printf "%.2f", 100 * d / t / s }'
}

# Time to first frame, over RUNS fresh starts of the start screen.
firsts=()
for run in $(seq "$RUNS"); do
    start_window "$WORK/first-$run.log"
    firsts+=("$FIRST_FRAME_MS")
    echo "start to first frame, run $run: ${FIRST_FRAME_MS} ms"
    if [[ $run -lt $RUNS ]]; then stop "$APP_PID"; fi
done
median_first=$(printf '%s\n' "${firsts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "start to first frame: median ${median_first} ms of ${RUNS} runs"

# Idle on the start screen (the last window from above).
sleep 3
idle_start=$(cpu_percent "$APP_PID")
echo "idle CPU, start screen: ${idle_start} % over ${IDLE_SECONDS} s"
stop "$APP_PID"

# Idle while hosting, with a terminal client in the room that wrote one message.
port=$(free_port 30106)
start_window "$WORK/host.log" --host --port "$port" --lang ja
host_pid=$APP_PID
mkfifo "$WORK/student.in"
"$BIN" join "127.0.0.1:$port" --name student1 <"$WORK/student.in" >"$WORK/student.log" 2>&1 &
PIDS+=($!)
exec 4>"$WORK/student.in"
sleep 1
echo "*/こんにちは" >&4
sleep 3
grep -q "Your ID is: student1" "$WORK/student.log" ||
    fail "the terminal client did not join the hosted chat: $(cat "$WORK/student.log")"
grep -q "you → everyone: こんにちは" "$WORK/student.log" ||
    fail "the terminal client's message was not relayed: $(cat "$WORK/student.log")"
idle_host=$(cpu_percent "$host_pid")
echo "idle CPU, hosting with one client: ${idle_host} % over ${IDLE_SECONDS} s"
exec 4>&-

printf '{"bench":"app_window","first_frame_ms":%s,"first_frame_runs_ms":[%s],"idle_cpu_percent_start":%s,"idle_cpu_percent_hosting":%s,"idle_seconds":%s}\n' \
    "$median_first" "$(IFS=,; echo "${firsts[*]}")" "$idle_start" "$idle_host" "$IDLE_SECONDS"
