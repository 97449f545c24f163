#!/usr/bin/env bash
# Prints a PATH under which Debian's media and browser tools are gone, for proving that `npm test`
# passes with nothing but Node.js: a private bin folder holding a symlink to every executable on
# the current PATH except the hidden ones (first one of each name wins, as PATH lookup would).
#   PATH="$(bash scripts/hide-media-tools.sh)" npm test
set -euo pipefail
hidden=(ffmpeg ffprobe chromium chromium-browser espeak-ng espeak sox nginx)
bin="${VIGIL_HIDDEN_BIN:-${TMPDIR:-/tmp}/vigil-hidden-bin}"
rm -rf "$bin"
mkdir -p "$bin"
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  for file in "$dir"/*; do
    name="${file##*/}"
    [ -x "$file" ] && [ ! -d "$file" ] || continue
    [ -e "$bin/$name" ] || [ -L "$bin/$name" ] && continue
    for hide in "${hidden[@]}"; do [ "$name" = "$hide" ] && continue 2; done
    ln -s "$file" "$bin/$name"
  done
done
printf '%s\n' "$bin"
