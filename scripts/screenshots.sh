#!/usr/bin/env bash
# Takes docs/screenshot-host.png, docs/screenshot-join.png and docs/screenshot-classroom.png on
# a virtual X display.
#
# Usage: scripts/screenshots.sh [path/to/classchat]
#   Without a path it builds the release binary first.
# Needs: Xvfb, ImageMagick's `import`, xdotool (Debian: xvfb imagemagick xdotool).
#
# The host window (Japanese) hosts a chat; two terminal clients, 花子 and Taro, join with
# `classchat join` and write; the host writes too. Then a second window joins as Ken (English).
# Last, back in the host window's class controls: two hands go up, the host opens a poll and
# the terminal students vote.
# Exits non-zero if an app dies or a screenshot is missing; stops everything it started.
set -euo pipefail

SCRIPT=screenshots
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
need_tools Xvfb import xdotool

DISPLAY_NUM=${SCREENSHOT_DISPLAY:-:99}

alive() {
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || fail "$name (pid $pid) died; its log:$(echo; cat "$WORK/$name.log" 2>/dev/null)"
}

export DISPLAY=$DISPLAY_NUM

PORT=${SCREENSHOT_PORT:-$(free_port 30105)}

Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    sleep 0.1
done
xdotool getdisplaygeometry >/dev/null 2>&1 || fail "Xvfb did not start"

# Waits for a window whose name matches, fills the screen with it, and prints its ID.
window_of() {
    local pid=$1 wid=""
    for _ in $(seq 100); do
        wid=$(xdotool search --sync --onlyvisible --pid "$pid" 2>/dev/null | head -n1) || true
        [[ -n "$wid" ]] && break
        sleep 0.1
    done
    [[ -n "$wid" ]] || fail "no window for pid $pid"
    xdotool windowmove "$wid" 0 0 windowsize "$wid" 1280 800
    echo "$wid"
}

# Types ASCII text into a window's focused widget and presses Enter.
say() {
    local wid=$1 text=$2
    xdotool windowfocus --sync "$wid"
    xdotool type --delay 15 --window "$wid" "$text"
    xdotool key --window "$wid" Return
}

# 1. The host window, in Japanese.
"$BIN" --host --port "$PORT" --join-code 482913 --name 先生 --lang ja >"$WORK/host.log" 2>&1 &
HOST=$!
PIDS+=("$HOST")
for _ in $(seq 100); do
    (exec 5<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    alive host "$HOST"
    sleep 0.1
done
HOST_WID=$(window_of "$HOST")

# 2. Two terminal clients; their input comes from FIFOs held open on fds 3 and 4.
mkfifo "$WORK/hanako.in" "$WORK/taro.in" "$WORK/yuki.in"
"$BIN" join "127.0.0.1:$PORT" --name 花子 --code 482913 <"$WORK/hanako.in" >"$WORK/hanako.log" 2>&1 &
HANAKO=$!
PIDS+=("$HANAKO")
exec 3>"$WORK/hanako.in"
"$BIN" join "127.0.0.1:$PORT" --name Taro --code 482913 <"$WORK/taro.in" >"$WORK/taro.log" 2>&1 &
TARO=$!
PIDS+=("$TARO")
exec 4>"$WORK/taro.in"
sleep 1.5

say "$HOST_WID" "*/Good morning! Today: WebSocket chat. Say hello to everyone."
sleep 0.5
echo "*/先生、おはようございます!よろしくお願いします。" >&3
sleep 0.4
echo "*/Hello everyone, Taro here." >&4
sleep 0.4
echo "先生/質問です: 課題の締め切りはいつですか?" >&3
sleep 0.4
echo "花子/Hanako, can you share the slides later?" >&4
sleep 0.4
# `xdotool type` cannot enter kana without an input method; the host writes ASCII.
say "$HOST_WID" "*/The deadline is Friday 17:00. Questions? Write sensei/..."
sleep 0.4
echo "*/わかりました、ありがとうございます!" >&3
sleep 0.4
# A long question wraps whole; a link is underlined and opens in the browser; emoji render.
echo "*/質問です。今日の授業でWebSocketの接続が切れたとき、クライアントはどうやって見逃したメッセージを知るのですか?再接続のたびに全部送り直すのでしょうか、それとも番号を覚えておいて続きから受け取るのでしょうか。資料の12ページの図の説明ももう一度聞きたいです 🙂" >&3
sleep 0.4
echo "*/Slides for today: https://example.org/classes/networks/lesson-12/slides?page=12 👍" >&4
sleep 1.5
alive host "$HOST"; alive hanako "$HANAKO"; alive taro "$TARO"
import -window root "$ROOT/docs/screenshot-host.png"

# The host panel's widgets are clicked where they are at 1280x800 in the Japanese window: the
# class controls tab, the pin field and button, the poll's question and option fields, Add
# option and Open poll. (`xdotool type` garbles kana, so the host types ASCII.) If the layout
# moves, the pin or the poll does not arrive and the checks below fail.
click() {
    xdotool mousemove --window "$HOST_WID" "$1" "$2" click 1
    sleep 0.3
}
fill() {
    click "$1" "$2"
    xdotool type --delay 30 --window "$HOST_WID" "$3"
    sleep 0.2
}
# The host pins the homework from the class controls tab (no hands up yet): the students'
# windows show it above the log.
xdotool windowfocus --sync "$HOST_WID"
click 167 115
fill 140 542 "Homework: slides p.12, due Friday 17:00"
click 45 583

# 3. A student window, in English, on top of the host's.
"$BIN" --join "127.0.0.1:$PORT" --name Ken --code 482913 --lang en >"$WORK/ken.log" 2>&1 &
KEN=$!
PIDS+=("$KEN")
KEN_WID=$(window_of "$KEN")
sleep 1.5
echo "Ken/Welcome Ken! We are on slide 12." >&4
sleep 0.4
say "$KEN_WID" "*/Hi everyone, sorry I am late!"
sleep 0.4
echo "*/ケンさん、ようこそ!" >&3
sleep 0.4
# Half-typed recipient: the window suggests the matching IDs.
xdotool type --window "$KEN_WID" "Ta"
sleep 1.5
alive host "$HOST"; alive ken "$KEN"; alive hanako "$HANAKO"; alive taro "$TARO"
grep -q "Homework" "$WORK/hanako.log" || fail "the pin did not arrive; 花子 saw:$(echo; cat "$WORK/hanako.log")"
import -window root "$ROOT/docs/screenshot-join.png"

# 4. The host's class controls: raised hands and a poll with votes coming in.
"$BIN" join "127.0.0.1:$PORT" --name ゆき --code 482913 <"$WORK/yuki.in" >"$WORK/yuki.log" 2>&1 &
YUKI=$!
PIDS+=("$YUKI")
exec 5>"$WORK/yuki.in"
kill "$KEN" 2>/dev/null || true
sleep 1
echo "/hand" >&3
sleep 0.6
echo "/hand" >&5
xdotool windowraise "$HOST_WID"
xdotool windowfocus --sync "$HOST_WID"
click 167 158
fill 140 355 "Next topic?"
fill 170 387 "HTTP"
fill 170 418 "WebSocket"
click 60 450
fill 170 449 "TLS"
click 75 512
sleep 0.8
echo "/vote 2" >&3
sleep 0.4
echo "/vote 2" >&5
sleep 0.4
echo "/vote 1" >&4
sleep 0.4
echo "*/WebSocket がいいです!" >&5
# Past the new-hand pulse, so the badge shows in its steady colour.
sleep 3
grep -q "Poll 1" "$WORK/hanako.log" || fail "the poll did not open; 花子 saw:$(echo; cat "$WORK/hanako.log")"
alive host "$HOST"; alive hanako "$HANAKO"; alive taro "$TARO"; alive yuki "$YUKI"
import -window root "$ROOT/docs/screenshot-classroom.png"

for shot in screenshot-host.png screenshot-join.png screenshot-classroom.png; do
    [[ -s "$ROOT/docs/$shot" ]] || fail "docs/$shot is missing"
done
echo "screenshots: wrote docs/screenshot-host.png, docs/screenshot-join.png and docs/screenshot-classroom.png"
