#!/usr/bin/env bash
# test-fresh.sh (`make test-fresh`): run the README's two commands, as root,
# in a fresh Debian 12 chroot, to find install steps and host assumptions
# that a machine with everything already installed hides.
#
#   1. mmdebstrap makes a Debian 12 "bookworm" chroot, variant minbase, plus
#      git and make only (what the README's reader starts from). Its apt
#      sources are the plain bookworm, bookworm-updates and bookworm-security
#      of the host's mirrors (ci/debian-mirror.sh), so inside it `make test`
#      installs its packages itself, as on a fresh machine.
#   2. The repository's committed HEAD is cloned into it (/root/discv):
#      uncommitted changes are not tested, exactly as in CI's clean clone.
#   3. With /proc, /sys, /dev, /dev/pts, a tmpfs /dev/shm and a tmpfs /tmp
#      mounted, and HOME=/root inside (empty: no ~/.cache/discv), it runs
#        make run GUEST_CMD='echo fresh-$(uname -m)'   (the batch form: the
#            interactive one cannot run unattended; also builds everything)
#        make test
#   4. Exit status: make test's; 1 if make test passed but the make run smoke
#      did not print "[guest0] fresh-riscv64".
#
# Everything runs in a private mount namespace (unshare), so its mounts are
# invisible to the rest of the system and cannot outlive it; they are still
# unmounted in reverse order on exit (also on failure, Ctrl-C or TERM), and
# the chroot is removed only when findmnt shows nothing mounted under it.
#
# Environment:
#   DISCV_FRESH_DIR   where the chroot lives (default ${TMPDIR:-/tmp}/discv-test-fresh;
#                     emptied first, removed at the end)
#   DISCV_FRESH_KEEP=1  keep the chroot after the run (to look inside)
#   DISCV_FRESH_LOG   log directory (default build/test-fresh in this checkout):
#                     test-fresh.log (all output), mmdebstrap.log, make-run.log,
#                     make-test.log and the chroot's build/test-logs/
#   DISCV_FRESH_MIN_GB  free space needed where the chroot lives (default 12)
#   DISCV_DEBIAN_MIRROR, DISCV_DEBIAN_SECURITY_MIRROR: see ci/debian-mirror.sh
# Needs root and mmdebstrap; takes 13 minutes on 2 cores (more when the
# machine is busy): a cold build, with every package downloaded.
# The whole script is one { } block: bash reads it completely before running
# it, so editing this file while a run is under way cannot change that run.
{
set -euo pipefail
export LC_ALL=C

me=test-fresh.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
log() { echo "$me: [$(date +%H:%M:%S)] $*" >&2; }
die() { echo "$me: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mounts)"

# Re-run in a private mount namespace: its mounts die with it.
if [ -z "${DISCV_FRESH_IN_NS:-}" ]; then
    command -v unshare >/dev/null || die "unshare not found (util-linux)"
    export DISCV_FRESH_IN_NS=1
    exec unshare --mount --propagation private "$0" "$@"
fi

suite=bookworm
arch=amd64
fresh=${DISCV_FRESH_DIR:-${TMPDIR:-/tmp}/discv-test-fresh}
logdir=${DISCV_FRESH_LOG:-$repo/build/test-fresh}
min_gb=${DISCV_FRESH_MIN_GB:-12}
target=$fresh/root
marker=$fresh/.discv-test-fresh

command -v mmdebstrap >/dev/null ||
    die "mmdebstrap not found (apt-get install mmdebstrap, or run ci/install-deps.sh)"
[ "$(dpkg --print-architecture)" = "$arch" ] ||
    die "the chroot is $arch; this host is $(dpkg --print-architecture)"
case "$fresh" in
    /*) ;;
    *) die "DISCV_FRESH_DIR must be an absolute path (got '$fresh')" ;;
esac
case "$fresh/" in
    "$repo"/*) die "DISCV_FRESH_DIR ($fresh) must be outside the repository" ;;
esac

mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)
logf=$logdir/test-fresh.log
: > "$logf"
exec > >(tee -a "$logf") 2>&1
start=$SECONDS
log "log: $logf"

# ---- mounts and cleanup -----------------------------------------------------
mounted=()          # mount points, in the order they were mounted
child=

# mounts_under DIR: list what is mounted at or below DIR (empty: nothing).
mounts_under() { findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'; }

# kill_chroot_procs: end the processes whose root is our chroot (all started
# by this script: make, apt, QEMU, ...), so that their mounts can go.
kill_chroot_procs() {
    local round sig p r pids
    for round in 1 2 3 4 5 6; do
        pids=()
        for p in /proc/[0-9]*; do
            r=$(readlink "$p/root" 2>/dev/null) || continue
            case "$r" in "$target"|"$target"/*) pids+=("${p#/proc/}") ;; esac
        done
        [ ${#pids[@]} -gt 0 ] || return 0
        sig=TERM; [ "$round" -le 2 ] || sig=KILL
        log "stopping ${#pids[@]} process(es) left in the chroot ($sig)"
        kill -"$sig" "${pids[@]}" 2>/dev/null || true
        sleep 2
    done
}

remove_chroot() {
    [ -e "$fresh" ] || return 0
    if [ -n "$(mounts_under "$fresh")" ]; then
        log "error: still mounted under $fresh, not removing it:"
        mounts_under "$fresh" >&2
        return 1
    fi
    [ -z "$(ls -A "$fresh")" ] || [ -f "$marker" ] ||
        { log "error: $fresh is not empty and was not made by $me; not removing it"; return 1; }
    rm -rf "$fresh"
}

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    # First what runs in the chroot: then timeout(1) and $child end too.
    [ -d "$target" ] && kill_chroot_procs
    if [ -n "$child" ]; then
        wait "$child" 2>/dev/null || true
    fi
    for (( i = ${#mounted[@]} - 1; i >= 0; i-- )); do
        umount "${mounted[i]}" 2>/dev/null ||
            { log "umount ${mounted[i]} failed; detaching it (umount -l)"; umount -l "${mounted[i]}" || true; }
    done
    mounted=()
    [ ! -d "$target" ] || log "the chroot took $(du -sh "$target" 2>/dev/null | cut -f1)"
    if [ "${DISCV_FRESH_KEEP:-0}" = 1 ]; then
        log "kept the chroot: $target"
    else
        remove_chroot || rc=1
    fi
    log "finished in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s, status $rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# mnt ARGS... DIR: mount, and remember DIR for the cleanup.
mnt() {
    local dir=${*: -1}
    mkdir -p "$dir"
    mount "$@"
    mounted+=("$dir")
}

# in_chroot TIMEOUT OUT COMMAND: run a shell command as root in the chroot,
# with the environment of a root login on a fresh machine (HOME=/root, no
# locale), its output shown and copied to OUT. It runs in the background so
# that a signal to this script runs the cleanup at once; timeout(1) ends the
# whole process group (make, QEMU) if it takes longer than TIMEOUT seconds.
in_chroot() {
    local rc
    rm -f "$fresh/rc"
    {
        rc=0
        timeout --kill-after=30 "$1" chroot "$target" /usr/bin/env -i \
            HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            /bin/bash -c "cd /root/discv && $3" < /dev/null || rc=$?
        echo "$rc" > "$fresh/rc"
    } 2>&1 | tee "$2" &
    child=$!
    wait "$child" || true
    child=
    rc=$(cat "$fresh/rc" 2>/dev/null || echo 1)
    [ "$rc" != 124 ] || log "timed out after $1 s: $3"
    return "$rc"
}

# ---- 1. the chroot ------------------------------------------------------------
if [ -e "$fresh" ]; then
    log "removing the previous chroot $fresh"
    remove_chroot || die "cannot remove $fresh"
fi
mkdir -p "$fresh"
touch "$marker"
log "free disk where the chroot goes ($fresh):"
df -h "$fresh"
avail_kb=$(df -Pk "$fresh" | awk 'NR == 2 { print $4 }')
[ "$avail_kb" -ge $(( min_gb * 1024 * 1024 )) ] ||
    die "less than $min_gb GB free under $fresh (DISCV_FRESH_DIR elsewhere, or DISCV_FRESH_MIN_GB)"

mirror=$("$here/debian-mirror.sh") || die "cannot determine the Debian mirror"
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main")
if security=$("$here/debian-mirror.sh" --security 2>/dev/null); then
    sources+=("deb $security $suite-security main")
else
    log "note: no security archive in the host's apt sources; the chroot has none either"
fi
log "mmdebstrap: Debian $suite $arch, minbase + git make, from:"
printf '    %s\n' "${sources[@]}" >&2
# git and make only: the README's reader has cloned the repository (git)
# and types make. No ca-certificates: the clone here is local, and anything
# else that needs them must come from ci/install-deps.sh.
if ! mmdebstrap --variant=minbase --architectures="$arch" --include=git,make \
        "$suite" "$target" "${sources[@]}" > "$logdir/mmdebstrap.log" 2>&1; then
    tail -n 30 "$logdir/mmdebstrap.log" >&2
    die "mmdebstrap failed (log: $logdir/mmdebstrap.log)"
fi
log "chroot ready: $(du -sh "$target" | cut -f1); its /etc/apt/sources.list:"
sed 's/^/    /' "$target/etc/apt/sources.list" >&2
# Name resolution is part of the machine, not of its packages: a fresh
# install has a working resolv.conf (mmdebstrap leaves the host's or none).
if [ ! -s "$target/etc/resolv.conf" ] && [ -r /etc/resolv.conf ]; then
    cp -L /etc/resolv.conf "$target/etc/resolv.conf"
fi

# ---- 2. the committed HEAD ------------------------------------------------------
head=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    log "note: uncommitted changes in $repo are not tested (only HEAD $head is)"
fi
log "cloning $repo at $(git -C "$repo" log -1 --format='%h %s' | cut -c1-70)"
git clone -q --no-hardlinks --no-checkout "$repo" "$target/root/discv"
git -C "$target/root/discv" checkout -q --detach "$head"

# ---- 3. mounts, then the README's commands --------------------------------------
mnt -t proc proc "$target/proc"
mnt --bind /sys "$target/sys"
mnt --bind /dev "$target/dev"
mnt --bind /dev/pts "$target/dev/pts"
mnt -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$target/dev/shm"
mnt -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$target/tmp"

smoke=0
log "make run GUEST_CMD='echo fresh-\$(uname -m)' (installs the packages, builds everything)"
if in_chroot 3600 "$logdir/make-run.log" "make run GUEST_CMD='echo fresh-\$(uname -m)'"; then
    if grep -qF '[guest0] fresh-riscv64' "$logdir/make-run.log"; then
        log "make run: OK ([guest0] fresh-riscv64)"
    else
        log "make run: exited 0 but the guest did not print fresh-riscv64"; smoke=1
    fi
else
    log "make run: FAILED (see $logdir/make-run.log)"; smoke=1
fi

log "make test"
rc=0
in_chroot 7200 "$logdir/make-test.log" "make test" || rc=$?

rm -rf "$logdir/test-logs"
if [ -d "$target/root/discv/build/test-logs" ]; then
    cp -a "$target/root/discv/build/test-logs" "$logdir/test-logs"
fi
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logdir/make-test.log" | tail -n 1 || true)
log "make test exited $rc: ${line:-no 'N passed, M failed' line}"
[ "$smoke" = 0 ] || log "make run (the batch smoke) failed"
echo "${line:-0 passed, 1 failed}"
if [ "$rc" = 0 ] && [ "$smoke" != 0 ]; then
    rc=1
fi
exit "$rc"
}
