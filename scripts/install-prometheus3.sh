#!/usr/bin/env bash
# Fetches current promtool (Prometheus 3.x) and Alertmanager (>= 0.28, amtool and server) next to the Debian 12
# ones that scripts/install-stack-deps.sh installs, so the rule bundle is tested against both promtools
# (test/prometheus3-bundle.test.ts) and the Alertmanager config, whose webhooks read their URL with `url_file`
# (0.26 and newer), against trixie's and sid's: test/alertmanager.test.ts and the live stack run trixie's server
# and amtool (test/helpers/alertmanager.ts). Debian 12 has only Prometheus 2.42 and Alertmanager 0.25, so the
# packages come from Debian's newer suites: promtool from sid (its own package since 2.53), Alertmanager from
# trixie (13, stable: 0.28) and from sid (the newest). Nothing is installed: the .deb files are downloaded with
# a private apt configuration (the system's sources and state are not touched; no root needed), checked by apt
# against Debian's signed indexes, and their binaries unpacked under .cache/prometheus-current/:
#   sid/promtool  sid/amtool  sid/prometheus-alertmanager  trixie/amtool  trixie/prometheus-alertmanager
# Idempotent: a cache whose binaries pass the version checks is kept as it is (no network); --refresh fetches
# the suites' current packages again. Fails (non-zero, with the reason) when a download fails or a binary is
# older than promtool 3.0 / Alertmanager 0.28.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache/prometheus-current
MIRROR=${MLWATCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
  echo "install-prometheus3: $*" >&2
  exit 1
}

# "promtool, version 3.5.3+ds1 (branch: ...)" -> 3.5.3+ds1; refuses a version older than $2.$3.
checked_version() {
  local bin=$1 major=$2 minor=$3 line version
  [ -x "$bin" ] || die "$bin is missing"
  line=$("$bin" --version 2>&1 | head -1) || die "$bin --version failed: $line"
  version=$(sed -nE 's/^[a-z]+, version ([0-9]+\.[0-9]+\.[0-9]+[^ ]*).*/\1/p' <<<"$line")
  [ -n "$version" ] || die "$bin --version printed no version: $line"
  local m=${version%%.*} rest=${version#*.}
  local n=${rest%%.*}
  if [ "$m" -lt "$major" ] || { [ "$m" -eq "$major" ] && [ "$n" -lt "$minor" ]; }; then
    die "$bin is version $version; at least $major.$minor is required"
  fi
  echo "$version"
}

# Assigned before printing: a failed check in $(...) inside echo's arguments would not stop the script.
report() {
  local promtool amtool_trixie amtool_sid server_trixie
  promtool=$(checked_version "$CACHE/sid/promtool" 3 0)
  amtool_trixie=$(checked_version "$CACHE/trixie/amtool" 0 28)
  amtool_sid=$(checked_version "$CACHE/sid/amtool" 0 28)
  server_trixie=$(checked_version "$CACHE/trixie/prometheus-alertmanager" 0 28)
  echo "promtool $promtool ($CACHE/sid/promtool)"
  echo "amtool $amtool_trixie ($CACHE/trixie/amtool)"
  echo "amtool $amtool_sid ($CACHE/sid/amtool)"
  echo "alertmanager $server_trixie ($CACHE/trixie/prometheus-alertmanager)"
}

case "${1:-}" in "" | --refresh) ;; *) die "usage: $0 [--refresh]" ;; esac
# The server too: a cache from before the tests ran trixie's Alertmanager may lack it, and is then fetched again.
if [ "${1:-}" != --refresh ] && [ -x "$CACHE/sid/promtool" ] && [ -x "$CACHE/trixie/amtool" ] &&
  [ -x "$CACHE/sid/amtool" ] && [ -x "$CACHE/trixie/prometheus-alertmanager" ]; then
  report
  exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian's apt (and dpkg-deb)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
[ -r "$KEYRING" ] || die "$KEYRING missing: install debian-archive-keyring"

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
cat >"$APT/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR sid main
deb [signed-by=$KEYRING] $MIRROR trixie main
EOF
opts=(
  -o "Dir::Etc::sourcelist=$PWD/$APT/sources.list" -o Dir::Etc::sourceparts=-
  -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=-
  -o "Dir::State::Lists=$PWD/$APT/lists" -o "Dir::Cache=$PWD/$APT/cache"
  -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::CNF::DefaultEnabled=false
  -o APT::Sandbox::User="$(id -un)" -q
)
# apt-get update exits 0 on some fetch failures (it keeps the old lists); -o APT::Update::Error-Mode=any
# exists only from apt 2.7, so also refuse warnings about unreachable sources.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! apt-get "${opts[@]}" update >"$log" 2>&1 || grep -qE '^(Err:|E:|W: Failed|W: Some index)' "$log"; then
  cat "$log" >&2
  die "apt-get update of sid and trixie from $MIRROR failed"
fi

downloads=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$downloads"' EXIT
# Suite-qualified names: sid's newest promtool and Alertmanager, and trixie's (stable) Alertmanager 0.28.
if ! (cd "$downloads" && apt-get "${opts[@]}" download promtool/sid prometheus-alertmanager/sid >"$log" 2>&1); then
  cat "$log" >&2
  die "apt-get download of promtool and prometheus-alertmanager from sid failed"
fi
mkdir -p "$downloads/trixie"
if ! (cd "$downloads/trixie" && apt-get "${opts[@]}" download prometheus-alertmanager/trixie >"$log" 2>&1); then
  cat "$log" >&2
  die "apt-get download of prometheus-alertmanager from trixie failed"
fi

# Only the binaries are kept (the packages' docs, man pages and /etc files are not needed here).
unpack() {
  local deb=$1 dest=$2
  shift 2
  local root
  root=$(mktemp -d -p "$downloads")
  dpkg-deb -x "$deb" "$root" || die "cannot unpack $deb"
  for name in "$@"; do
    [ -x "$root/usr/bin/$name" ] || die "$deb has no usr/bin/$name"
    install -m 0755 "$root/usr/bin/$name" "$dest/$name.new"
    mv -f "$dest/$name.new" "$dest/$name"
  done
  echo "$(basename "$deb") $(stat -c %s "$deb") bytes"
}
mkdir -p "$CACHE/sid" "$CACHE/trixie"
{
  unpack "$(ls "$downloads"/promtool_*.deb)" "$CACHE/sid" promtool
  unpack "$(ls "$downloads"/prometheus-alertmanager_*.deb)" "$CACHE/sid" amtool prometheus-alertmanager
  unpack "$(ls "$downloads"/trixie/prometheus-alertmanager_*.deb)" "$CACHE/trixie" amtool prometheus-alertmanager
} | tee "$CACHE/packages.txt"
report
