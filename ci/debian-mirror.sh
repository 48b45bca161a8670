#!/usr/bin/env bash
# debian-mirror.sh: print (one line on stdout) the URI of the system's main
# Debian archive mirror, as configured in apt's sources (deb822 *.sources
# files and/or one-line-style sources.list / *.list files).
#
# Only enabled "deb" entries whose suite is the system codename (or
# <codename>-updates; bookworm/bookworm-updates are always accepted), with
# component "main", that are not security mirrors and that are not signed by
# a third-party keyring, qualify.  The first match wins, deb822 first.
#
# debian-mirror.sh --security: the same for the security archive instead
# (suite <codename>-security or bookworm-security); used by ci/test-fresh.sh
# to give its Debian 12 chroot the sources of a freshly installed system.
#
# Environment:
#   DISCV_DEBIAN_MIRROR     use this URI instead of looking at apt's sources
#   DISCV_DEBIAN_SECURITY_MIRROR  the same, for --security
#   DISCV_APT_SOURCES_DIR   directory with *.sources / *.list files
#                           (default /etc/apt/sources.list.d; for testing)
#   DISCV_APT_SOURCES_LIST  one-line-style sources file
#                           (default /etc/apt/sources.list; for testing)
#   DISCV_DEBIAN_CODENAME   codename to accept (default: from /etc/os-release)
set -euo pipefail

me=debian-mirror.sh
die() { echo "$me: error: $*" >&2; exit 1; }

want=main
case "${1:-}" in
    "") ;;
    --security) want=security ;;
    *) echo "usage: $me [--security]" >&2; exit 2 ;;
esac

if [ "$want" = main ] && [ -n "${DISCV_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "${DISCV_DEBIAN_MIRROR%/}"
    exit 0
fi
if [ "$want" = security ] && [ -n "${DISCV_DEBIAN_SECURITY_MIRROR:-}" ]; then
    printf '%s\n' "${DISCV_DEBIAN_SECURITY_MIRROR%/}"
    exit 0
fi

srcdir="${DISCV_APT_SOURCES_DIR:-/etc/apt/sources.list.d}"
srclist="${DISCV_APT_SOURCES_LIST:-/etc/apt/sources.list}"

codename="${DISCV_DEBIAN_CODENAME:-}"
if [ -z "$codename" ] && [ -r /etc/os-release ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi

# good_suite SUITE: is SUITE the main archive of this (or a bookworm) system?
# (With --security: its security archive.)
good_suite() {
    if [ "$want" = security ]; then
        case "$1" in
            bookworm-security) return 0 ;;
            "") return 1 ;;
        esac
        [ -n "$codename" ] && [ "$1" = "$codename-security" ]
        return
    fi
    case "$1" in
        *-security|*/updates) return 1 ;;
        bookworm|bookworm-updates) return 0 ;;
    esac
    [ -n "$codename" ] || return 1
    case "$1" in
        "$codename"|"$codename-updates") return 0 ;;
    esac
    return 1
}

# good_entry URI SUITES COMPONENTS SIGNED_BY: does this entry qualify?
good_entry() {
    local uri=$1 suites=$2 comps=$3 signed=$4 s ok=1
    case "$uri" in
        ""|cdrom:*) return 1 ;;
        *security*) [ "$want" = security ] || return 1 ;;
    esac
    # A keyring other than Debian's archive keyring means a third-party repo.
    case "$signed" in
        ""|/usr/share/keyrings/debian-archive-*) ;;
        *) return 1 ;;
    esac
    case " $comps " in *" main "*) ;; *) return 1 ;; esac
    for s in $suites; do
        if good_suite "$s"; then ok=0; break; fi
    done
    return $ok
}

emit() { printf '%s\n' "${1%/}"; exit 0; }

# --- deb822 *.sources files -------------------------------------------------
# parse_deb822 FILE: print one record per stanza: enabled, types, uris,
# suites, components, signed-by (continuation lines joined), separated by
# \037 (not a tab: read would merge adjacent empty whitespace-IFS fields).
parse_deb822() {
    awk '
    function flush() {
        if (n > 0)
            printf "%s\037%s\037%s\037%s\037%s\037%s\n", f["enabled"], f["types"], \
                f["uris"], f["suites"], f["components"], f["signed-by"]
        delete f; n = 0; last = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    /^[ \t]/ {                      # continuation line (e.g. inline key)
        if (last != "") {
            val = $0
            gsub(/^[ \t]+|[ \t]+$/, "", val)
            f[last] = (f[last] == "" ? val : f[last] " " val)
        }
        next
    }
    {
        i = index($0, ":"); if (i == 0) next
        key = tolower(substr($0, 1, i - 1))
        val = substr($0, i + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", val)
        gsub(/[ \t]+/, " ", val)
        f[key] = val; n++; last = key
    }
    END { flush() }
    ' "$1"
}

shopt -s nullglob
for f in "$srcdir"/*.sources; do
    [ -r "$f" ] || continue
    while IFS=$'\037' read -r enabled types uris suites comps signed; do
        case "${enabled,,}" in no|false|0) continue ;; esac
        case " $types " in *" deb "*) ;; *) continue ;; esac
        for uri in $uris; do
            if good_entry "$uri" "$suites" "$comps" "$signed"; then
                emit "$uri"
            fi
        done
    done < <(parse_deb822 "$f")
done

# --- one-line-style sources.list and *.list ---------------------------------
# parse_list FILE: print "uri suite components signed-by" (\037-separated) per
# enabled "deb" line.
parse_list() {
    awk '
    {
        sub(/#.*/, "")
        if ($1 != "deb") next
        line = $0
        sub(/^[ \t]*deb[ \t]+/, "", line)
        opts = ""
        if (substr(line, 1, 1) == "[") {
            j = index(line, "]"); if (j == 0) next
            opts = substr(line, 2, j - 2)
            line = substr(line, j + 1)
        }
        m = split(line, w, /[ \t]+/)
        k = 0
        for (i = 1; i <= m; i++) if (w[i] != "") a[++k] = w[i]
        if (k < 2) next
        comps = ""
        for (i = 3; i <= k; i++) comps = comps (i > 3 ? " " : "") a[i]
        signed = ""
        no = split(opts, o, /[ \t]+/)
        for (i = 1; i <= no; i++)
            if (tolower(o[i]) ~ /^signed-by=/) signed = substr(o[i], 11)
        printf "%s\037%s\037%s\037%s\n", a[1], a[2], comps, signed
    }
    ' "$1"
}

for f in "$srclist" "$srcdir"/*.list; do
    [ -r "$f" ] || continue
    while IFS=$'\037' read -r uri suite comps signed; do
        if good_entry "$uri" "$suite" "$comps" "$signed"; then
            emit "$uri"
        fi
    done < <(parse_list "$f")
done

[ "$want" = main ] ||
    die "no enabled Debian security archive (suite ${codename:-bookworm}-security, component main) found in $srcdir/*.sources, $srclist or $srcdir/*.list; set DISCV_DEBIAN_SECURITY_MIRROR=<URI> to override"
die "no enabled Debian archive mirror (suite ${codename:-bookworm}, component main) found in $srcdir/*.sources, $srclist or $srcdir/*.list; set DISCV_DEBIAN_MIRROR=<URI> to override"
