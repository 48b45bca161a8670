#!/usr/bin/env bash
# install-deps.sh: make sure the Debian packages discv's build, guest
# pipeline, tests and benchmarks need are installed.  Idempotent: does
# nothing when everything is present; installs the missing ones with apt-get
# when run as root; otherwise lists them and exits 1.
set -euo pipefail

me=install-deps.sh
log() { echo "$me: $*" >&2; }

pkgs=(
    qemu-system-misc opensbi gcc-riscv64-linux-gnu device-tree-compiler
    linux-source-6.1 gdb-multiarch mmdebstrap cpio bc flex bison
    libssl-dev libelf-dev rsync make gcc xz-utils python3 ca-certificates file clang patch
    e2fsprogs binutils qemu-user-static
    # clang's sanitizer and libFuzzer runtimes (libclang_rt.fuzzer, .asan):
    # only a Recommends of clang, so --no-install-recommends leaves them out.
    libclang-rt-14-dev
)

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in
        ii*) ;;
        *) missing+=("$p") ;;
    esac
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "error: missing packages: ${missing[*]}"
    log "install them with:"
    log "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
fi

log "installing missing packages: ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
log "done"
