# Sourced by the ci/ scripts: messages prefixed with the script's name,
# and the paths they share (the repository, the build cache).
me=$(basename "$0")
log() { echo "$me: $*" >&2; }
die() { echo "$me: error: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cache="${DISCV_CACHE:-$HOME/.cache/discv}"

# out_arg "$@": the script's one argument, OUT, into $out (or a usage message).
out_arg() {
	[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $me OUT" >&2; exit 2; }
	out=$1
}

# debian_fetch DIR PACKAGE...: downloads the named Debian packages of
# $suite for riscv64 and their hard dependencies into
# DIR/var/cache/apt/archives (mmdebstrap --variant=extract, keeping the
# .debs), from the mirror the system's apt sources name (debian-mirror.sh).
# Component main of the plain suite only: -security and -updates are not
# needed and not reachable everywhere. Its log is DIR.log, whose last
# lines are shown if it fails.
debian_fetch() {
	local dir=$1 mirror
	shift
	command -v mmdebstrap >/dev/null || die "mmdebstrap not found (run ci/install-deps.sh)"
	mirror=$("$here/debian-mirror.sh") || die "cannot determine the Debian mirror"
	log "downloading $* and their dependencies ($suite, riscv64, main) from $mirror..."
	if ! mmdebstrap --variant=extract --architectures=riscv64 \
		--include="$(IFS=,; echo "$*")" --skip=cleanup/apt/cache \
		"$suite" "$dir" "deb $mirror $suite main" > "$dir.log" 2>&1; then
		log "error: mmdebstrap failed; last lines of its log:"
		tail -n 20 "$dir.log" >&2
		exit 1
	fi
}
