#!/usr/bin/env bash
# Start-to-exit latency of `strata sandbox -- /bin/true` beside bubblewrap and unshare(1), and
# of `strata --version` beside `bwrap --version` (the cost of loading each binary).
# Usage: bench/sandbox.sh [STRATA_BINARY] [RUNS]   (default: build/builder/strata, 100 runs)
# The commands run in turn, one run of each per round, so that load from other processes on
# the machine falls on all of them alike; it prints the median wall time of each, its median
# CPU time (user + system, children included) and the ratio of medians to bwrap.
# Target (issue 16): strata sandbox <= 1.0x
#   bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev /bin/true
set -euo pipefail
cd "$(dirname "$0")/.."

strata=${1:-build/builder/strata}
runs=${2:-100}
[ -x "$strata" ] || { echo "bench/sandbox.sh: $strata not built" >&2; exit 2; }

python3 - "$strata" "$runs" <<'PY'
import os, shutil, statistics, sys, time

strata, runs = sys.argv[1], int(sys.argv[2])
commands = {
    "strata": [strata, "sandbox", "--", "/bin/true"],
    "bwrap": ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
              "/bin/true"],
    "unshare": ["unshare", "-Urmpnf", "--mount-proc", "/bin/true"],
    "strata-startup": [strata, "--version"],
    "bwrap-startup": ["bwrap", "--version"],
}
devnull = os.open(os.devnull, os.O_RDWR)

def run(argv):
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, usage = os.wait4(pid, 0)
    return status, (time.perf_counter() - start) * 1000, (usage.ru_utime + usage.ru_stime) * 1000

for name in list(commands):
    argv = commands[name]
    path = shutil.which(argv[0])
    if path is None or run([path] + argv[1:])[0] != 0:
        print(f"bench/sandbox.sh: skipping {name}: '{' '.join(argv)}' fails here", file=sys.stderr)
        del commands[name]
    else:
        argv[0] = path

times = {name: [] for name in commands}
for round in range(runs + 10):  # the first 10 rounds warm the caches and are not counted
    for name, argv in commands.items():
        _, wall, cpu = run(argv)
        if round >= 10:
            times[name].append((wall, cpu))

print(f"{runs} alternating runs each, median; uid {os.getuid()}, {os.uname().release}\n")
print(f"{'command':16} {'wall (ms)':>10} {'cpu (ms)':>9} {'vs bwrap':>9}")
median = {n: statistics.median(w for w, _ in t) for n, t in times.items()}
for name, t in times.items():
    ratio = f"{median[name] / median['bwrap']:.2f}x" if "bwrap" in median else "-"
    cpu = statistics.median(c for _, c in t)
    print(f"{name:16} {median[name]:10.2f} {cpu:9.2f} {ratio:>9}")
if {"strata", "strata-startup", "bwrap", "bwrap-startup"} <= median.keys():
    s = median["strata"] - median["strata-startup"]
    b = median["bwrap"] - median["bwrap-startup"]
    print(f"\nminus each binary's own start-up: strata {s:.2f} ms, bwrap {b:.2f} ms ({s / b:.2f}x)")
PY
