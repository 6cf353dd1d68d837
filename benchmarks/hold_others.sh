#!/bin/bash
# Run "$@" with the machine to itself: every other heavy process (python, pytest, ganas, torchrun,
# Ray) is held with SIGSTOP while it runs (checked every second, each pid examined once, so the
# watcher costs next to nothing), then continued. How the "quiet machine" figures of
# docs/benchmarks.md were taken on the shared 2-core VM, e.g.
#     bash benchmarks/hold_others.sh bash -c "time .venv/bin/ganas demo --out /tmp/demo_run --quiet"
mine=$$
list=/tmp/quiet.stopped.$$
: > $list
ppid_of() { local s; read -r s < /proc/$1/stat 2>/dev/null || return 1; s=${s##*) }; set -- $s; echo $2; }
is_mine() { local a=$1; while [ -n "$a" ] && [ "$a" -gt 1 ]; do [ "$a" = "$mine" ] && return 0; a=$(ppid_of $a) || return 1; done; return 1; }
( declare -A seen
  while [ -e $list ]; do
    for p in $(pgrep -f "python|pytest|ganas|torchrun|ray::|raylet|gcs_server"); do
      [ -n "${seen[$p]}" ] && continue
      seen[$p]=1
      is_mine $p && continue
      kill -STOP $p 2>/dev/null && echo $p >> $list
    done; sleep 1; done ) &
watcher=$!
"$@"; rc=$?
stopped=$(cat $list); rm -f $list; sleep 1.2; kill $watcher 2>/dev/null
[ -n "$stopped" ] && kill -CONT $stopped 2>/dev/null
echo "held and continued: $(echo $stopped | wc -w) processes" >&2
exit $rc
