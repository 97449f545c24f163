#!/usr/bin/env bash
# Remakes test/fixtures/audio/*.wav, the fake microphone's sounds, so the suites need neither
# espeak-ng nor sox (Debian packages "espeak-ng" and "sox"; only this script needs them).
# 16 kHz mono 16-bit PCM: what the analysis hears anyway, and small enough to commit.
#   bash scripts/make-audio-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/../test/fixtures/audio"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

speak() { # name, words per minute, text
  espeak-ng -s "$2" -w "$tmp/$1.wav" "$3"
  sox "$tmp/$1.wav" -r 16000 -c 1 -b 16 "$1.wav"
}
# A candidate talking: about five seconds of continuous speech.
speak speech 150 'I think the answer to question four is forty two. Let me check the next one.'
# A short utterance: one sentence, about two seconds.
speak speech-short 160 'Question four is about photosynthesis.'
# Steady white noise (a fan, a hiss): loud, but not speech.
sox -n -r 16000 -c 1 -b 16 noise.wav synth 2 whitenoise vol 0.3
ls -l ./*.wav
