#!/usr/bin/env bash
# Progress a person can read, under a pseudo-terminal (util-linux `script`) at widths 40 and
# 200, replayed on a small terminal emulator (lib/term_screen.py): two packages building in
# parallel each have a line in the frame with the step and its elapsed time; no frame line is
# wider than the terminal; the frame is erased when the build ends, so the digest (and, when a
# step fails, the error) is on a clean line of its own with no stale progress lines left on the
# screen; after the terminal narrows (SIGWINCH) the frame fits the new width. Not a terminal:
# the plain "[pkg] step i/n: cmd" lines, without escape sequences.
source "$(dirname "$0")/lib/e2e.sh"

command -v script >/dev/null || skip "util-linux script is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"

mkdir -p "$WORK/ok" "$WORK/bad"
cat >"$WORK/ok/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: progress
packages:
  - name: alpha
    steps:
      - sleep 1.5
      - 'sleep 2.5; echo a step command much longer than forty columns of a narrow terminal >/dev/null'
  - name: beta
    steps:
      - sleep 1.5
      - sleep 1.5
image:
  layers: [{packages: [alpha, beta]}]
YAML
cat >"$WORK/bad/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: progress-bad
packages:
  - name: slow
    steps:
      - sleep 4
  - name: broken
    steps:
      - 'sleep 1.5; exit 3'
image:
  layers: [{packages: [slow, broken]}]
YAML

# on_tty WIDTH NAME SPEC: builds SPEC on a WIDTHx20 pseudo-terminal; the typescript goes to
# $WORK/NAME.tty and the replayed screen (JSON) to $WORK/NAME.json.
on_tty() {
  local width=$1 name=$2 spec=$3
  script -q -e -c "stty cols $width rows 20; '$STRATA' build '$spec' -o '$WORK/out-$name' --cache '$WORK/cache-$name' -j 2" \
    /dev/null </dev/null >"$WORK/$name.tty" || true
  python3 "$E2E_DIR/lib/term_screen.py" "$width" 20 <"$WORK/$name.tty" >"$WORK/$name.json"
}

# check NAME WIDTH PYTHON-EXPRESSION WHAT: evaluates the expression over `screen` and `frames`
# (lists of lines) of $WORK/NAME.json.
check() {
  local name=$1 width=$2 expr=$3 what=$4
  if python3 - "$WORK/$name.json" "$width" "$expr" <<'PY'; then pass "$what"; else
import json, re, sys
d = json.load(open(sys.argv[1]))
width, screen, frames = int(sys.argv[2]), d["screen"], d["frames"]
lines = [l for f in frames for l in f]
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
    echo "--- screen:" >&2; python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["screen"]))' "$WORK/$name.json" >&2
    fail "$what"
  fi
}

for width in 40 200; do
  on_tty "$width" "ok$width" "$WORK/ok/strata.yaml"
  n=ok$width
  check $n $width 'frames and all(len(l) <= width for l in lines)' "width $width: no frame line wider than the terminal"
  check $n $width 'any(any(l.startswith("[alpha] step") for l in f) and any(l.startswith("[beta] step") for l in f) for f in frames)' \
    "width $width: both parallel packages on screen at once"
  check $n $width 'any(re.search(r"step 1/2 sleep 1\.5  (0\.[5-9]|1\.[0-9])s$", l) for l in lines)' \
    "width $width: a step's elapsed time advances"
  check $n $width 'any(re.match(r"\[[0-9]/2 done\] [12] running  [0-9.]+s$", l) for l in lines)' "width $width: a summary line"
  # The digest wraps at width 40: it is the screen's last line(s), starting at column 0.
  check $n $width 'any(re.fullmatch(r"sha256:[0-9a-f]{64}", "".join(screen[i:])) for i in range(len(screen)))' \
    "width $width: the digest on a clean last line"
  check $n $width 'not any(re.search(r"running|starting|step [0-9]/[0-9] ", l) for l in screen)' \
    "width $width: no stale progress line left on the screen"
  check $n $width 'any(l.startswith("[alpha] built sha256:") for l in screen) and any(l.startswith("[beta] built sha256:") for l in screen)' \
    "width $width: a permanent line per built package"
done
check ok40 40 'any(l.endswith("…  ") or "…  " in l for l in lines)' "width 40: the long step is cut with an ellipsis"
check ok200 200 'any("longer than forty columns of a narrow terminal >/dev/null  " in l for l in lines)' \
  "width 200: the long step shown whole"

# The terminal narrows from 200 to 40 columns mid-build (stty sends SIGWINCH): the frames
# drawn after it fit 40 columns.
# It narrows once alpha's last step has started (its log exists), not after a fixed time:
# on a loaded machine the build may not have drawn a frame yet, or may be over.
script -q -e -c "stty cols 200 rows 20; '$STRATA' build '$WORK/ok/strata.yaml' -o '$WORK/out-resize' --cache '$WORK/cache-resize' -j 2 & for i in \$(seq 300); do [ -e '$WORK/cache-resize/logs/progress/alpha/step-2.log' ] && break; sleep 0.1; done; sleep 0.5; stty cols 40; wait" \
  /dev/null </dev/null >"$WORK/resize.tty" || true
python3 "$E2E_DIR/lib/term_screen.py" 200 20 <"$WORK/resize.tty" >"$WORK/resize.json"
check resize 40 'any(len(l) > 40 for l in lines) and frames[-1] and all(len(l) <= 40 for l in frames[-1])' \
  "after SIGWINCH: the frame fits the new width"

# A failing step while another package still runs: the error starts on a clean line and no
# progress line is left over.
on_tty 40 bad40 "$WORK/bad/strata.yaml"
check bad40 40 'any(l.startswith("strata: error: ") and "broken" in l for l in screen)' "the error on a line of its own"
check bad40 40 'not any(re.search(r"running|starting|step [0-9]/[0-9] ", l) for l in screen)' \
  "after an error: no stale progress line left on the screen"

# Not a terminal: plain lines, no escape sequences.
"$STRATA" build "$WORK/ok/strata.yaml" -o "$WORK/out-plain" --cache "$WORK/cache-plain" -j 2 \
  >"$WORK/plain.out" 2>"$WORK/plain.err" || { cat "$WORK/plain.err"; fail "plain build"; }
grep -q '^\[alpha\] step 1/2: sleep 1.5$' "$WORK/plain.err" && grep -q '^\[beta\] built sha256:' "$WORK/plain.err" &&
  pass "not a terminal: plain step and package lines" || fail "not a terminal: plain step and package lines"
! grep -q $'\033\|\r' "$WORK/plain.err" && pass "not a terminal: no escape sequences" || fail "not a terminal: no escape sequences"
