#!/usr/bin/env bash
# Prints the absolute path of a runnable headless Chromium (`chromium-headless-shell`) on stdout, for the
# browser suite driven by playwright-core (`chromium.launch({ executablePath, args: ["--no-sandbox"] })`);
# progress goes to stderr.
#
# Order: $CHROMIUM_BIN, then a cached copy under <project>/.cache/chromium/, then (Debian family only) this
# machine's own release's `chromium-headless-shell` package (its security archive included: that is where
# Chromium updates land) with `chromium-common` and every package apt says is missing here, fetched with
# `apt-get download` against a private apt state and unpacked with `dpkg -x` into the cache. Nothing is
# installed system-wide. The binary then needs the cache's libraries on LD_LIBRARY_PATH, so what is printed
# is a wrapper, <cache>/chromium, that sets it and execs the real binary. The archive hosts are read from
# this machine's apt sources so that no host name lives in the project; no package version is pinned.
set -euo pipefail

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=(chromium-headless-shell chromium-common)
REAL_BIN=usr/lib/chromium/chromium-headless-shell
# Never shadowed through LD_LIBRARY_PATH: the C library must match the system's dynamic loader.
NEVER_UNPACK='^(libc6|libc-bin|libgcc-s1|libstdc\+\+6)$'

project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$project_dir/.cache/chromium"
wrapper="$cache_dir/chromium"

log() { echo "chromium.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# `$1 --version` prints e.g. "Chromium 156.0.8078.114 built on Debian ..."; echoes the version.
chromium_version() {
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  [[ "$out" =~ (Chromium|Chrome)[^0-9]*([0-9]+\.[0-9.]+) ]] || return 1
  echo "${BASH_REMATCH[2]}"
}

if [[ -n "${CHROMIUM_BIN:-}" ]]; then
  [[ -f "$CHROMIUM_BIN" && -x "$CHROMIUM_BIN" ]] || die "CHROMIUM_BIN=$CHROMIUM_BIN is not an executable file"
  version="$(chromium_version "$CHROMIUM_BIN")" ||
    die "CHROMIUM_BIN=$CHROMIUM_BIN does not run '--version' or does not look like Chromium"
  log "using CHROMIUM_BIN (Chromium $version)"
  echo "$(cd "$(dirname "$CHROMIUM_BIN")" && pwd -P)/$(basename "$CHROMIUM_BIN")"
  exit 0
fi

if [[ -x "$wrapper" && -s "$cache_dir/VERSION" ]] && chromium_version "$wrapper" >/dev/null; then
  echo "$wrapper"
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  die "no chromium: set CHROMIUM_BIN, or run on a Debian-family machine (apt-get, dpkg) so it can be fetched"
[[ -r "$KEYRING" ]] || die "no chromium: $KEYRING is missing (package debian-archive-keyring); set CHROMIUM_BIN instead"

# This machine's release codename (e.g. bookworm).
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")" || codename=""
[[ -n "$codename" ]] || die "no chromium: no VERSION_CODENAME in /etc/os-release; set CHROMIUM_BIN instead"

# The Debian archives this machine already uses for its own release, as "URI SUITE" lines: the `deb` entries
# of deb822 stanzas in /etc/apt/sources.list.d/*.sources and of /etc/apt/sources.list whose suite is
# <codename>, <codename>-updates or <codename>-security (as find_mirror in scripts/victoria-metrics.sh,
# but keeping the security archive: Chromium is updated there).
find_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk '
      function flush(   n, m, i, j, u, s) {
        if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && enabled !~ /^[[:space:]]*(no|false)/) {
          n = split(uris, u, /[[:space:]]+/); m = split(suites, s, /[[:space:]]+/)
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (u[i] != "" && s[j] != "") print u[i], s[j]
        }
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:"   { sub(/^[^:]*:/, ""); types = $0 }
      tolower($1) == "uris:"    { sub(/^[^:]*:/, ""); uris = $0 }
      tolower($1) == "suites:"  { sub(/^[^:]*:/, ""); suites = $0 }
      tolower($1) == "enabled:" { sub(/^[^:]*:/, ""); enabled = $0 }
      END { flush() }
    ' "$f"
  done
  if [[ -r /etc/apt/sources.list ]]; then
    sed -E 's/#.*//' /etc/apt/sources.list |
      awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if (i < NF) print $i, $(i+1) }'
  fi
}

sources="$(find_sources | awk -v c="$codename" '$2 == c || $2 == c "-updates" || $2 == c "-security"' |
  grep -i 'debian' | sort -u || true)"
[[ -n "$sources" ]] ||
  die "no chromium: no Debian '$codename' archive in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set CHROMIUM_BIN instead"
log "fetching Debian $codename's chromium-headless-shell from this machine's archives ($(awk '{ print $1 " " $2 }' <<<"$sources" | paste -sd, | sed 's/,/, /g'))"

work="$(mktemp -d "${TMPDIR:-/tmp}/chromium-apt.XXXXXX")"
trap 'rm -rf "$work" "$cache_dir.new"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/download"
awk -v k="$KEYRING" '{ print "deb [signed-by=" k "] " $1 " " $2 " main" }' <<<"$sources" >"$work/sources.list"

apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "Debug::NoLocking=true"
  # apt's _apt sandbox user cannot write into our private (root-owned, mode 0700) temp dir.
  -o "APT::Sandbox::User=root"
  -qq
)

apt-get "${apt_opts[@]}" update >&2 || die "no chromium: 'apt-get update' of Debian $codename failed"

# What installing the shell here would add or upgrade, simulated against this machine's (read-only) dpkg status.
sim="$(apt-get "${apt_opts[@]}" -s --no-install-recommends install "${PACKAGES[@]}" 2>&1)" ||
  die "no chromium: 'apt-get -s install ${PACKAGES[*]}' failed: $sim"
mapfile -t needed < <(awk '$1 == "Inst" { print $2 }' <<<"$sim" | sed 's/:.*//' | grep -Ev "$NEVER_UNPACK" || true)
for p in "${PACKAGES[@]}"; do
  [[ " ${needed[*]} " == *" $p "* ]] || needed+=("$p")
done
skipped="$(awk '$1 == "Inst" { print $2 }' <<<"$sim" | sed 's/:.*//' | grep -E "$NEVER_UNPACK" || true)"
[[ -z "$skipped" ]] || log "note: not unpacking $(paste -sd' ' <<<"$skipped") (apt lists them; they must come from the system)"

log "downloading ${#needed[@]} packages: ${needed[*]}"
(cd "$work/download" && apt-get "${apt_opts[@]}" download "${needed[@]}" >&2) ||
  die "no chromium: 'apt-get download' failed"

rm -rf "$cache_dir.new"
mkdir -p "$cache_dir.new"
shopt -s nullglob
debs=("$work"/download/*.deb)
shopt -u nullglob
(( ${#debs[@]} > 0 )) || die "no chromium: apt-get download produced no .deb"
log "unpacking ${#debs[@]} packages ($(du -ch "${debs[@]}" | tail -n1 | cut -f1)) into $cache_dir"
for deb in "${debs[@]}"; do
  dpkg -x "$deb" "$cache_dir.new"
done
[[ -x "$cache_dir.new/$REAL_BIN" ]] || die "no chromium: the packages have no $REAL_BIN"
dpkg-deb -f "$work"/download/chromium-headless-shell_*.deb Version | sed -E 's/^[0-9]+://' >"$cache_dir.new/VERSION"

# Library directories of the unpacked packages (e.g. usr/lib/x86_64-linux-gnu and its pulseaudio/ folder),
# relative to the cache; Chromium's own usr/lib/chromium is found by the binary itself.
mapfile -t lib_dirs < <(cd "$cache_dir.new" && find . -path ./usr/lib/chromium -prune -o \
  \( -type f -o -type l \) -name 'lib*.so*' -printf '%h\n' | sed 's|^\./||' | sort -u)
ld_path=""
for d in "${lib_dirs[@]}"; do ld_path+="${ld_path:+:}\$here/$d"; done

# Where the machine has no fontconfig configuration, use the unpacked one (fontconfig-config, fonts-*); the
# paths are where the cache ends up once moved into place.
fonts=""
if [[ ! -e /etc/fonts/fonts.conf && -e "$cache_dir.new/etc/fonts/fonts.conf" ]]; then
  cat >"$cache_dir.new/fonts.conf" <<EOF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">$cache_dir/etc/fonts/fonts.conf</include>
  <dir>$cache_dir/usr/share/fonts</dir>
  <cachedir>$cache_dir/fontconfig-cache</cachedir>
</fontconfig>
EOF
  fonts='export FONTCONFIG_FILE="${FONTCONFIG_FILE:-$here/fonts.conf}"'
fi

cat >"$cache_dir.new/chromium" <<EOF
#!/bin/sh
# Written by scripts/chromium.sh: runs the unpacked chromium-headless-shell with its unpacked libraries.
here="\$(cd "\$(dirname "\$(readlink -f "\$0")")" && pwd -P)"
export LD_LIBRARY_PATH="${ld_path}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"${fonts:+
$fonts}
exec "\$here/$REAL_BIN" "\$@"
EOF
chmod +x "$cache_dir.new/chromium"

missing="$(LD_LIBRARY_PATH="$(sed "s|\\\$here|$cache_dir.new|g" <<<"$ld_path")" ldd "$cache_dir.new/$REAL_BIN" 2>&1 |
  awk '/not found/ { print $1 }' | paste -sd' ' || true)"
[[ -z "$missing" ]] || die "no chromium: libraries still missing after unpacking: $missing"

rm -rf "$cache_dir"
mv "$cache_dir.new" "$cache_dir"

version="$(chromium_version "$wrapper")" || die "no chromium: $wrapper --version does not run"
dom="$("$wrapper" --headless --no-sandbox --disable-gpu --dump-dom about:blank 2>/dev/null)" ||
  die "no chromium: $wrapper --dump-dom about:blank failed"
[[ "$dom" == *"<html"* ]] || die "no chromium: $wrapper --dump-dom about:blank printed no page"
log "Chromium $version (package $(cat "$cache_dir/VERSION")) ready"

echo "$wrapper"
