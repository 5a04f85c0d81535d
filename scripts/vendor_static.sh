#!/usr/bin/env bash
# Install the Leaflet JS/CSS the maps load into static/vendor/ (git-ignored).
#
# Why: folium points the browser at public CDNs, which many government networks
# (and our build machines) cannot reach; without these files the map stays blank.
# Streamlit serves static/ at /app/static/ (.streamlit/config.toml), and
# gridgeo/maps.py rewrites every element's default_js/default_css to those paths.
#
# Only the npm registry is contacted (`npm pack`), each tarball is checked
# against a pinned sha256, and a second run with the files in place does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"

# name@version  sha256 of the npm tarball  files to keep (tarball path -> vendor path)
PACKAGES=(
  "leaflet@1.9.4|84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77|package/dist/leaflet.js:leaflet/leaflet.js package/dist/leaflet.css:leaflet/leaflet.css package/dist/images:leaflet/images package/LICENSE:leaflet/LICENSE"
  "leaflet.heat@0.2.0|6d980bce16b6bbe8e3b124d200dfd12964ff8f6bfff44eb3a47344f97dfc5c7f|package/dist/leaflet-heat.js:leaflet.heat/leaflet-heat.js package/LICENSE:leaflet.heat/LICENSE"
)

command -v npm >/dev/null 2>&1 || { echo "vendor_static: npm is needed (apt-get install npm)" >&2; exit 1; }

mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec sha files <<<"$entry"
  marker="$DEST/.${spec//\//_}"
  if [[ -f "$marker" ]] && [[ "$(cat "$marker")" == "$sha" ]]; then
    all_there=1
    for pair in $files; do [[ -e "$DEST/${pair#*:}" ]] || all_there=0; done
    if [[ $all_there == 1 ]]; then
      echo "vendor_static: $spec already in static/vendor"
      continue
    fi
  fi
  echo "vendor_static: fetching $spec from the npm registry"
  tarball="$(cd "$TMP" && npm pack "$spec" --silent --pack-destination "$TMP" | tail -n 1)"
  got="$(sha256sum "$TMP/$tarball" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "vendor_static: $spec tarball sha256 is $got, expected $sha; refusing to install it" >&2
    exit 1
  fi
  unpack="$TMP/${spec//[@\/]/_}"
  mkdir -p "$unpack"
  tar -xzf "$TMP/$tarball" -C "$unpack"
  for pair in $files; do
    src="$unpack/${pair%%:*}"
    dst="$DEST/${pair#*:}"
    mkdir -p "$(dirname "$dst")"
    rm -rf "$dst"
    cp -R "$src" "$dst"
  done
  echo "$sha" >"$marker"
done

echo "vendor_static: static/vendor ready ($(find "$DEST" -type f ! -name '.*' | wc -l) files)"
