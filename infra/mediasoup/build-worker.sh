#!/usr/bin/env bash
# Vigil: build mediasoup-worker without GitHub/PyPI access.
#
# mediasoup normally downloads a prebuilt worker from GitHub (or builds one with
# sources fetched from GitHub). Where that is impossible we compile the C++
# sources shipped in the mediasoup npm tarball against Debian's -dev packages,
# replacing each meson wrap (which would download) with a tiny local
# subproject that just forwards to the system library via pkg-config.
#
# Supported: mediasoup 3.13.x - 3.15.x on Debian/Ubuntu (apt). 3.16+ needs
# libsrtp 3 and other deps Debian does not package.
#
# Usage:  infra/mediasoup/build-worker.sh [--force]
# Env:    MS_VERSION         mediasoup version to build (default 3.15.8)
#         VIGIL_CACHE_DIR    cache root (default $HOME/.cache/vigil)
#         VIGIL_MEDIASOUP_REBUILD=1   same as --force
#         VIGIL_BUILD_JOBS   parallel compile jobs (default: nproc)
# Output: progress on stderr; the LAST line on stdout is the absolute path of
#         the cached binary: $VIGIL_CACHE_DIR/mediasoup/mediasoup-worker-<ver>-<distro>
set -eu

MS_VERSION=${MS_VERSION:-3.15.8}
MESON_VERSION=1.12.1
NINJA_VERSION=1.13.2
FORCE=${VIGIL_MEDIASOUP_REBUILD:-0}
case "${1:-}" in
	--force) FORCE=1 ;;
	"") ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

log() { printf '[vigil build-worker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$MS_VERSION" in
	3.13.*|3.14.*|3.15.*) ;;
	*) die "mediasoup $MS_VERSION is not supported by this offline recipe (3.13.x-3.15.x only)" ;;
esac

# Distro part of the cache key, e.g. debian12 (must match worker-bin.mjs).
[ -r /etc/os-release ] || die "no /etc/os-release: this recipe needs Debian or Ubuntu"
DISTRO=$(. /etc/os-release && printf '%s%s' "${ID:-linux}" "${VERSION_ID:-${VERSION_CODENAME:-unknown}}")

CACHE_DIR=${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/mediasoup
BIN=$CACHE_DIR/mediasoup-worker-$MS_VERSION-$DISTRO

# A healthy worker started without MEDIASOUP_VERSION in its environment exits
# with status 41 (this is also how mediasoup validates its prebuilt binaries).
# Anything else (e.g. 127: a shared library went missing) means "unusable".
worker_runs() {
	local rc=0
	env -i "$1" </dev/null >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 41 ]
}

if [ "$FORCE" != 1 ] && [ -x "$BIN" ]; then
	if worker_runs "$BIN"; then
		log "using cached $BIN"
		echo "$BIN"
		exit 0
	fi
	log "cached $BIN does not run here (missing runtime libraries?); rebuilding"
fi

START=$(date +%s)
mkdir -p "$CACHE_DIR"

# --- 1. system packages ------------------------------------------------------
command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 ||
	die "apt/dpkg not found: this recipe needs Debian or Ubuntu. Elsewhere install mediasoup with internet access, or point MEDIASOUP_WORKER_BIN at a worker binary."

NEEDED="g++ make pkg-config python3 libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev"
python3 -m pip --version >/dev/null 2>&1 || NEEDED="$NEEDED python3-pip"
MISSING=""
for p in $NEEDED; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo"
	else
		die "missing Debian packages:$MISSING
    Install them (needs root), then re-run npm install:
        sudo apt-get update && sudo apt-get install -y --no-install-recommends$MISSING"
	fi
	log "installing Debian packages:$MISSING"
	APT_LOG=$(mktemp "${TMPDIR:-/tmp}/vigil-apt.XXXXXX")
	{ $SUDO apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $MISSING
	} >"$APT_LOG" 2>&1 || { cat "$APT_LOG" >&2; rm -f "$APT_LOG"; die "apt-get failed"; }
	rm -f "$APT_LOG"
fi

# --- 2. meson + ninja (Debian 12's meson 1.0 is too old; >= 1.1 is required) --
TOOLS=$CACHE_DIR/tools/meson-$MESON_VERSION-ninja-$NINJA_VERSION
if [ ! -x "$TOOLS/bin/meson" ] || [ ! -x "$TOOLS/bin/ninja" ]; then
	log "installing meson $MESON_VERSION and ninja $NINJA_VERSION into $TOOLS"
	# If pip is configured with a local index (as extra-index-url), use the first
	# one as THE index so pip does not spend minutes retrying an unreachable PyPI.
	# With no such configuration pip simply uses its default index.
	LOCAL_INDEX=$(python3 -m pip config get global.extra-index-url 2>/dev/null | awk '{print $1}') || LOCAL_INDEX=""
	if [ -n "$LOCAL_INDEX" ]; then
		export PIP_INDEX_URL="$LOCAL_INDEX" PIP_RETRIES=0
	fi
	rm -rf "$TOOLS.tmp.$$"
	PIP_ROOT_USER_ACTION=ignore python3 -m pip install -qq --no-user --disable-pip-version-check \
		--target "$TOOLS.tmp.$$" "meson==$MESON_VERSION" "ninja==$NINJA_VERSION" >&2
	rm -rf "$TOOLS" && mkdir -p "$(dirname "$TOOLS")" && mv "$TOOLS.tmp.$$" "$TOOLS"
fi
export PYTHONPATH="$TOOLS${PYTHONPATH:+:$PYTHONPATH}" NINJA="$TOOLS/bin/ninja"
MESON="$TOOLS/bin/meson"

# --- 3. sources: the exact npm tarball ----------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-mediasoup-worker.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "fetching mediasoup@$MS_VERSION sources from the npm registry/cache"
(cd "$WORK" && npm pack --silent --prefer-offline "mediasoup@$MS_VERSION" >/dev/null)
tar -xzf "$WORK/mediasoup-$MS_VERSION.tgz" -C "$WORK"
WORKER=$WORK/package/worker
SUB=$WORKER/subprojects

# --- 4. KTLS fix (do not remove) ----------------------------------------------
# mediasoup's DTLS BIO callback returns 1 for every BIO control query. Debian's
# libssl3 is built with kernel-TLS support and asks "is KTLS on?" through that
# path; the bogus "yes" makes it skip allocating its write buffer and the worker
# segfaults on the first DTLS flight from a browser. mediasoup's own bundled
# OpenSSL has no KTLS, so upstream never hits this. Only treat real
# BIO_CB_RETURN notifications as such:
DTLS=$WORKER/src/RTC/DtlsTransport.cpp
sed -i 's/(operationType == BIO_CB_RETURN)/((operationType \& BIO_CB_RETURN) != 0)/' "$DTLS"
grep -q 'BIO_CB_RETURN) != 0' "$DTLS" || die "KTLS patch no longer applies to $DTLS"

# --- 5. replace downloading wraps with pkg-config forwarding subprojects ------
# Each stand-in keeps the subproject name and the variables worker/meson.build
# reads. Where the worker links a library target with link_whole, the stand-in
# offers an empty static library compiled from a one-line C file.
for w in openssl libuv libsrtp2 usrsctp abseil-cpp catch2 flatbuffers liburing; do
	rm -f "$SUB/$w.wrap"
done

# standin <dir> <symbol>; meson.build is read from stdin
standin() {
	mkdir -p "$SUB/$1"
	printf 'int vigil_standin_%s = 0;\n' "$2" > "$SUB/$1/standin.c"
	cat > "$SUB/$1/meson.build"
}
# options <dir> <option line>...: the options worker/meson.build passes in default_options
options() { local d=$1; shift; printf '%s\n' "$@" > "$SUB/$d/meson_options.txt"; }

standin openssl openssl <<'MESON'
project('openssl', 'c')
openssl_dep = dependency('openssl', version: '>=3.0.0')
libcrypto_lib = static_library('standin_crypto', 'standin.c')
libssl_lib = static_library('standin_ssl', 'standin.c',
  c_args: ['-Dvigil_standin_openssl=vigil_standin_openssl_ssl'])
MESON

standin libuv libuv <<'MESON'
project('libuv', 'c')
libuv_dep = dependency('libuv', version: '>=1.44.0')
libuv = static_library('standin_libuv', 'standin.c')
MESON
options libuv \
	"option('build_tests', type: 'boolean', value: false)" \
	"option('build_benchmarks', type: 'boolean', value: false)"

# Debian ships libsrtp 2.x with its header in <includedir>/srtp2, while
# mediasoup >= 3.13 is written against the libsrtp 3 API (size_t lengths,
# srtp_stream_remove). A force-included header adapts the few calls it uses.
standin libsrtp2 srtp <<'MESON'
project('libsrtp2', 'c')
_sys_srtp = dependency('libsrtp2', version: '>=2.4.0')
libsrtp2_dep = declare_dependency(
  dependencies: _sys_srtp,
  compile_args: ['-include', meson.current_source_dir() / 'srtp3_api.h'],
  include_directories: include_directories(
    _sys_srtp.get_variable(pkgconfig: 'includedir') / 'srtp2'))
libsrtp2 = static_library('standin_libsrtp2', 'standin.c')
MESON
cat > "$SUB/libsrtp2/srtp3_api.h" <<'C'
/* Vigil: libsrtp 3 call signatures on top of Debian's libsrtp 2 (C++ only). */
#ifndef VIGIL_SRTP3_API_H
#define VIGIL_SRTP3_API_H
#ifdef __cplusplus
#include <cstddef>
#include <srtp.h>
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}
#define VIGIL_SRTP3_LEN_ADAPTER(fn)                                          \
	inline srtp_err_status_t fn(srtp_t session, void* data, size_t* len)    \
	{                                                                        \
		int ilen = static_cast<int>(*len);                                   \
		const srtp_err_status_t status = ::fn(session, data, &ilen);         \
		*len = static_cast<size_t>(ilen);                                    \
		return status;                                                       \
	}
VIGIL_SRTP3_LEN_ADAPTER(srtp_protect)
VIGIL_SRTP3_LEN_ADAPTER(srtp_unprotect)
VIGIL_SRTP3_LEN_ADAPTER(srtp_protect_rtcp)
VIGIL_SRTP3_LEN_ADAPTER(srtp_unprotect_rtcp)
#undef VIGIL_SRTP3_LEN_ADAPTER
#endif
#endif
C
options libsrtp2 \
	"option('crypto-library', type: 'string', value: 'openssl')" \
	"option('crypto-library-kdf', type: 'feature', value: 'disabled')" \
	"option('tests', type: 'feature', value: 'disabled')"

standin usrsctp usrsctp <<'MESON'
project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp')
usrsctp = static_library('standin_usrsctp', 'standin.c')
MESON
options usrsctp "option('sctp_build_programs', type: 'boolean', value: false)"

standin abseil-cpp absl <<'MESON'
project('abseil-cpp', 'c', 'cpp')
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set'),
  dependency('absl_inlined_vector'), dependency('absl_raw_hash_set')])
# (used by deps/libwebrtc)
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [
  dependency('absl_optional'), dependency('absl_bad_optional_access'),
  dependency('absl_variant'), dependency('absl_bad_variant_access'),
  dependency('absl_span')])
absl_container_lib = static_library('standin_absl', 'standin.c')
MESON

standin flatbuffers flatbuffers <<'MESON'
project('flatbuffers', 'c', 'cpp')
flatbuffers_dep = dependency('flatbuffers')
flatbuffers_lib = static_library('standin_flatbuffers', 'standin.c')
MESON

standin catch2 catch2 <<'MESON'
project('catch2', 'cpp')
catch2_dep = declare_dependency()
MESON

# --- 6. compile ----------------------------------------------------------------
JOBS=${VIGIL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD_LOG=$CACHE_DIR/build-$MS_VERSION-$DISTRO.log
log "compiling mediasoup-worker $MS_VERSION with $JOBS job(s); takes a few minutes (log: $BUILD_LOG)"
cd "$WORKER"
{
	"$MESON" setup --buildtype release -Db_ndebug=true -Db_pie=true -Db_staticpic=true \
		-Dms_disable_liburing=true build &&
	# The FlatBuffers C++ headers come from a separate target; generate them first.
	"$MESON" compile -C build flatbuffers-generator &&
	"$MESON" compile -C build -j "$JOBS" mediasoup-worker
} >"$BUILD_LOG" 2>&1 || { tail -n 40 "$BUILD_LOG" >&2; die "compilation failed; full log: $BUILD_LOG"; }

# --- 7. publish into the cache atomically ---------------------------------------
cp build/mediasoup-worker "$BIN.tmp.$$"
chmod 755 "$BIN.tmp.$$"
worker_runs "$BIN.tmp.$$" || { rm -f "$BIN.tmp.$$"; die "freshly built worker does not start"; }
mv -f "$BIN.tmp.$$" "$BIN"
log "built $BIN in $(( $(date +%s) - START ))s"
echo "$BIN"
