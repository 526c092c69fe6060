#!/usr/bin/env bash
# podman with what some Linux VMs need to run any container, strata's or not:
#   bash examples/podman.sh run --rm -d -p 127.0.0.1:8080:8080 --name web localhost/web:1.0
#   bash examples/podman.sh load -i examples/out/web.tar
# On a machine where plain `podman run` works, use podman itself; this only adds:
# - `--ulimit nofile=N:N --ulimit nproc=4096:4096` to `run` and `create`, with N the shell's
#   hard limit: podman asks crun for RLIMIT_NOFILE 1048576 by default, and a VM whose hard
#   limit is lower and that lacks CAP_SYS_RESOURCE fails every container with
#   "setrlimit RLIMIT_NOFILE: Operation not permitted";
# - on a "hybrid" cgroup host (cgroup v1 controllers plus a cgroup2 mount such as
#   /sys/fs/cgroup/unified), which crun refuses ("cgroups in hybrid mode not supported"),
#   podman runs in a private mount namespace where that cgroup2 mount is unmounted (the
#   host's mounts are untouched);
# - without systemd as init, `--cgroup-manager cgroupfs --events-backend file`.
# STRATA_PODMAN_GLOBAL adds global options (e.g. "--root DIR --runroot DIR"; the tests use
# a throwaway store this way); STRATA_PODMAN_ULIMITS replaces the --ulimit options.
set -euo pipefail

read -r -a global <<<"${STRATA_PODMAN_GLOBAL:-}"
if [[ ! -d /run/systemd/system ]]; then
  global+=(--cgroup-manager cgroupfs --events-backend file)
fi

args=("$@")
if [[ "${1:-}" == run || "${1:-}" == create ]]; then
  if [[ -n "${STRATA_PODMAN_ULIMITS+set}" ]]; then
    read -r -a limits <<<"$STRATA_PODMAN_ULIMITS"
  else
    hard=$(ulimit -Hn)
    [[ "$hard" == unlimited ]] && hard=1048576
    limits=(--ulimit "nofile=$hard:$hard" --ulimit nproc=4096:4096)
  fi
  args=("$1" ${limits[@]+"${limits[@]}"} "${@:2}")
fi

# cgroup2 mounts other than /sys/fs/cgroup itself: a hybrid host.
hybrid=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2" && $5 != "/sys/fs/cgroup") print $5; break } }' /proc/self/mountinfo)
if [[ -z "$hybrid" ]]; then
  exec podman ${global[@]+"${global[@]}"} "${args[@]}"
fi
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- bash -c '
  while IFS= read -r m; do
    [[ -n "$m" ]] || continue
    umount -- "$m" || { echo "podman.sh: cannot unmount $m in a private mount namespace" >&2; exit 125; }
  done <<<"$0"
  exec "$@"' "$hybrid" podman ${global[@]+"${global[@]}"} "${args[@]}"
