#!/usr/bin/env bash
# The desktop app's weight: first paint (cold, then warm) and memory at idle with an empty board,
# under Xvfb with the release build, printed against the targets of issue 10 (< 500 ms warm,
# < 150 MB), and against the baseline measured in the same run: one Tauri window with nothing in
# it (`src-tauri/examples/blank.rs`, same configuration and rendering, no core). PSS is summed from /proc/<pid>/smaps_rollup over the app's process tree and split
# into the app itself, WebKit's web process and its network process. First paint is logged by the
# app when the UI has drawn its first frame (the `ui_painted` command), timed from process start.
#
#   cargo build --release -p baton-desktop --features custom-protocol --bins --example blank
#   bash bench/desktop-weight.sh
#
# ROUNDS (default 3) warm starts; the first start of a run is the cold one (a fresh data folder).
set -euo pipefail
cd "$(dirname "$0")/.."
APP=${APP:-target/release/baton-desktop}
BLANK=${BLANK:-target/release/examples/blank}
ROUNDS=${ROUNDS:-3}
for bin in "$APP" "$BLANK"; do
  [ -x "$bin" ] || { echo "build it first: cargo build --release -p baton-desktop --features custom-protocol --bins --example blank" >&2; exit 1; }
done

tree_pids() { # the pid and all its descendants
  local pid=$1
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree_pids "$child"; done
}
pss_kb() { # PSS of one process, in kB
  awk '/^Pss:/ { print $2 }' /proc/"$1"/smaps_rollup 2>/dev/null || echo 0
}

run_once() { # prints: first-paint-ms total-pss-kB app-kB web-kB network-kB ("-" for the blank window's paint)
  local data=$1 bin=${2:-$APP} log
  log=$(mktemp)
  BATON_DATA_DIR="$data" XDG_DATA_HOME="$data/xdg" RUST_LOG=info "$bin" >"$log" 2>&1 &
  local app=$!
  local deadline=$((SECONDS + 60)) paint=""
  while [ -z "$paint" ] && [ $SECONDS -lt $deadline ]; do
    paint=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'first paint ms=[0-9]*\|blank window ready' | head -1 | grep -o '[0-9]*$\|ready' || true)
    sleep 0.1
  done
  [ -n "$paint" ] || { echo "no first paint; log:" >&2; cat "$log" >&2; kill "$app"; exit 1; }
  [ "$paint" != ready ] || paint=-
  sleep 5 # idle
  local total=0 a=0 w=0 n=0
  for pid in $(tree_pids "$app"); do
    local kb cmd
    kb=$(pss_kb "$pid"); cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null || true)
    total=$((total + kb))
    case "$cmd" in
      *WebKitWebProcess*) w=$((w + kb)) ;;
      *WebKitNetworkProcess*) n=$((n + kb)) ;;
      *) a=$((a + kb)) ;;
    esac
  done
  kill -TERM "$app"; wait "$app" 2>/dev/null || true
  rm -f "$log"
  echo "$paint $total $a $w $n"
}

main() {
  local data
  data=$(mktemp -d)
  read -r cold_paint cold_total _ _ _ < <(run_once "$data")
  local paints=() totals=() apps=() webs=() nets=() blanks=() bapps=() bwebs=() bnets=()
  for _ in $(seq "$ROUNDS"); do
    read -r p t a w n < <(run_once "$data")
    paints+=("$p"); totals+=("$t"); apps+=("$a"); webs+=("$w"); nets+=("$n")
    read -r _ t a w n < <(run_once "$data" "$BLANK")
    blanks+=("$t"); bapps+=("$a"); bwebs+=("$w"); bnets+=("$n")
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  local total blank
  total=$(median "${totals[@]}"); blank=$(median "${blanks[@]}")
  echo "desktop weight ($APP, empty board, idle 5 s, $ROUNDS warm starts, medians)"
  echo "  first paint: cold $cold_paint ms, warm $(median "${paints[@]}") ms (target < 500 ms warm)"
  echo "  PSS: $((total / 1024)) MB total (target < 150 MB): app $(( $(median "${apps[@]}") / 1024 )) MB," \
       "web process $(( $(median "${webs[@]}") / 1024 )) MB, network process $(( $(median "${nets[@]}") / 1024 )) MB (cold start: $((cold_total / 1024)) MB)"
  echo "  baseline, a blank Tauri window: $((blank / 1024)) MB: app $(( $(median "${bapps[@]}") / 1024 )) MB," \
       "web process $(( $(median "${bwebs[@]}") / 1024 )) MB, network process $(( $(median "${bnets[@]}") / 1024 )) MB"
  echo "  Baton over the blank window: $(awk -v t="$total" -v b="$blank" 'BEGIN { printf "%.2f", t / b }')x," \
       "+$(( (total - blank) / 1024 )) MB"
  rm -rf "$data"
}

if [ -z "${DISPLAY:-}" ]; then exec xvfb-run -a -s "-screen 0 1280x800x24" bash "$0" "$@"; fi
main
