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
