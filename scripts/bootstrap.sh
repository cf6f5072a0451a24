#!/usr/bin/env bash
# Idempotent set-up of gr-wigenai on Debian 12 (or 13), run as root from the repo root:
# Debian packages, the .venv/ with pinned Python requirements, then the cmake build and
# install of the module into .venv/. Each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
STAMPS=$VENV/.stamps
log() { printf '[bootstrap] %s\n' "$*"; }

# 1. Debian packages.
DEB_PKGS=(gnuradio gnuradio-dev pybind11-dev python3-pybind11 cmake g++ make
          python3-venv python3-dev clang-format pkg-config)
missing=()
for p in "${DEB_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || { echo "bootstrap: run as root to install ${missing[*]}" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# 2. The venv, from Debian's python so that it sees Debian's GNU Radio.
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
mkdir -p "$STAMPS"

# 3. Python requirements. numpy follows the major version of Debian's own numpy, the one
# GNU Radio's bindings were built against (1.x on Debian 12, 2.x on Debian 13).
np_major=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__.split(".")[0])')
printf 'numpy>=%s,<%s\n' "$np_major" "$((np_major + 1))" > "$STAMPS/constraints.txt"
req_hash=$(cat requirements.txt "$STAMPS/constraints.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$STAMPS/requirements" 2>/dev/null)" != "$req_hash" ]; then
    log "installing Python requirements into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        -r requirements.txt -c "$STAMPS/constraints.txt"
    echo "$req_hash" > "$STAMPS/requirements"
fi

# 4. Build and install the module into the venv. cmake and make only redo what changed.
if [ ! -f build/CMakeCache.txt ]; then
    log "configuring build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$VENV" \
        -DCMAKE_INSTALL_RPATH="$VENV/lib/x86_64-linux-gnu;$VENV/lib" \
        -DPYTHON_EXECUTABLE="$VENV/bin/python" >/dev/null
fi
cmake --build build -j"$(nproc)" >build/build.log 2>&1 \
    || { tail -40 build/build.log; echo "bootstrap: build failed, see build/build.log" >&2; exit 1; }
cmake --install build >build/install.log 2>&1 \
    || { tail -20 build/install.log; exit 1; }
grep -v "Up-to-date" build/install.log | sed 's/^/[install] /' || true
