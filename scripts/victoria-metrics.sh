#!/usr/bin/env bash
# Prints the absolute path of a victoria-metrics binary (>= 1.112) on stdout; progress goes to stderr.
#
# Order: $VICTORIA_METRICS_BIN, then a cached copy under <project>/.cache/victoria-metrics/, then (Debian
# family only) Debian trixie's `victoria-metrics` package fetched with `apt-get download` against a
# private apt state and unpacked with `dpkg -x` into the cache. Nothing is installed system-wide.
# The mirror is read from this machine's apt sources so that no host name lives in the project.
set -euo pipefail

MIN_MAJOR=1
MIN_MINOR=112
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$project_dir/.cache/victoria-metrics"
cached_bin="$cache_dir/usr/bin/victoria-metrics"

log() { echo "victoria-metrics.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Release builds print e.g. "victoria-metrics-20250314-...-tags-v1.112.0-0-g..." for `-version`; Debian's
# build prints an empty line (no build info linked in), so for the cached copy the package version is
# recorded next to it at unpack time. `$1` is the binary, `$2` a fallback version string.
version_ok() {
  local bin="$1" fallback="${2:-}" out major minor
  out="$("$bin" -version 2>/dev/null)" || return 1
  [[ "$out" =~ v?([0-9]+)\.([0-9]+)\.[0-9]+ ]] || [[ "$fallback" =~ ^([0-9]+)\.([0-9]+) ]] || return 2
  major="${BASH_REMATCH[1]}"
  minor="${BASH_REMATCH[2]}"
  (( major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR) ))
}

if [[ -n "${VICTORIA_METRICS_BIN:-}" ]]; then
  [[ -f "$VICTORIA_METRICS_BIN" && -x "$VICTORIA_METRICS_BIN" ]] ||
    die "VICTORIA_METRICS_BIN=$VICTORIA_METRICS_BIN is not an executable file"
  rc=0
  version_ok "$VICTORIA_METRICS_BIN" || rc=$?
  case "$rc" in
    0) ;;
    2)
      [[ "$("$VICTORIA_METRICS_BIN" -help 2>&1 || true)" == *victoria-metrics* ]] ||
        die "VICTORIA_METRICS_BIN=$VICTORIA_METRICS_BIN does not look like victoria-metrics"
      log "note: $VICTORIA_METRICS_BIN does not report its version (Debian builds do not); assuming >= $MIN_MAJOR.$MIN_MINOR"
      ;;
    *) die "VICTORIA_METRICS_BIN=$VICTORIA_METRICS_BIN does not run or is older than $MIN_MAJOR.$MIN_MINOR" ;;
  esac
  echo "$(cd "$(dirname "$VICTORIA_METRICS_BIN")" && pwd -P)/$(basename "$VICTORIA_METRICS_BIN")"
  exit 0
fi

if [[ -x "$cached_bin" ]] && version_ok "$cached_bin" "$(cat "$cache_dir/VERSION" 2>/dev/null)"; then
  echo "$cached_bin"
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  die "no victoria-metrics >= $MIN_MAJOR.$MIN_MINOR: set VICTORIA_METRICS_BIN, or run on a Debian-family machine (apt-get, dpkg) so it can be fetched"
[[ -r "$KEYRING" ]] || die "no victoria-metrics: $KEYRING is missing (package debian-archive-keyring); set VICTORIA_METRICS_BIN instead"

# The Debian archive mirror this machine already uses: the URIs of a deb822 stanza in
# /etc/apt/sources.list.d/*.sources, else a `deb` line of /etc/apt/sources.list; the security archive
# is skipped (it has no plain `trixie` suite).
find_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    uri="$(awk '
      /^[[:space:]]*$/ { if (uris != "" && suites !~ /-security/) { print uris; exit } uris = ""; suites = ""; next }
      /^[Uu][Rr][Ii][Ss]:/ { uris = $2 }
      /^[Ss][Uu][Ii][Tt][Ee][Ss]:/ { suites = $0 }
      END { if (uris != "" && suites !~ /-security/) print uris }
    ' "$f" | grep -Ev -- '-security/?$' | grep -i 'debian' | head -n1 || true)"
    if [[ -n "$uri" ]]; then echo "$uri"; return 0; fi
  done
  if [[ -r /etc/apt/sources.list ]]; then
    uri="$(sed -E 's/#.*//' /etc/apt/sources.list |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i, $(i+1); break } }' |
      awk '$2 !~ /-security$/ && $1 !~ /-security\/?$/ { print $1 }' | grep -i 'debian' | head -n1 || true)"
    if [[ -n "$uri" ]]; then echo "$uri"; return 0; fi
  fi
  return 1
}

mirror="$(find_mirror)" || die "no victoria-metrics: no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set VICTORIA_METRICS_BIN instead"
log "fetching Debian $SUITE's victoria-metrics package from this machine's mirror ($mirror)"

work="$(mktemp -d "${TMPDIR:-/tmp}/victoria-metrics-apt.XXXXXX")"
trap 'rm -rf "$work" "$cache_dir.new"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/download"
echo "deb [signed-by=$KEYRING] $mirror $SUITE main" >"$work/sources.list"
: >"$work/status"

apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::Status=$work/status"
  -o "Dir::Cache=$work/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "Debug::NoLocking=true"
  # apt's _apt sandbox user cannot write into our private (root-owned, mode 0700) temp dir.
  -o "APT::Sandbox::User=root"
  -qq
)

apt-get "${apt_opts[@]}" update >&2 || die "no victoria-metrics: 'apt-get update' of $SUITE from $mirror failed"
(cd "$work/download" && apt-get "${apt_opts[@]}" download victoria-metrics >&2) ||
  die "no victoria-metrics: 'apt-get download victoria-metrics' from $SUITE failed"

deb="$(ls "$work"/download/victoria-metrics_*.deb 2>/dev/null | head -n1)"
[[ -n "$deb" ]] || die "no victoria-metrics: apt-get download produced no .deb"
log "unpacking $(basename "$deb") into $cache_dir"
rm -rf "$cache_dir.new"
mkdir -p "$cache_dir.new"
dpkg -x "$deb" "$cache_dir.new"
[[ -x "$cache_dir.new/usr/bin/victoria-metrics" ]] || die "no victoria-metrics: $(basename "$deb") has no usr/bin/victoria-metrics"
dpkg-deb -f "$deb" Version | sed -E 's/^[0-9]+://' >"$cache_dir.new/VERSION"
version_ok "$cache_dir.new/usr/bin/victoria-metrics" "$(cat "$cache_dir.new/VERSION")" ||
  die "no victoria-metrics: $(basename "$deb") ($(cat "$cache_dir.new/VERSION")) is older than $MIN_MAJOR.$MIN_MINOR or does not run here"
rm -rf "$cache_dir"
mv "$cache_dir.new" "$cache_dir"

echo "$cached_bin"
