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
          python3-venv python3-dev clang-format pkg-config nlohmann-json3-dev)
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

# 4. ONNX Runtime for the C++ blocks, without third-party files in the tree: the C++
# headers of Debian 13's libonnxruntime-dev, downloaded (not installed) through a
# separate apt configuration, and the library of the onnxruntime wheel in the venv,
# linked under its soname in $ORT_ROOT/lib. The C API is versioned, so headers older
# than the library work; a binary must run with the library release it was linked
# against, so a new wheel release relinks (the build folder is redone).
ORT_ROOT=$VENV/opt/onnxruntime
ort_lib=$("$VENV/bin/python" -c 'import glob, os, onnxruntime as o
print(sorted(glob.glob(os.path.join(os.path.dirname(o.__file__), "capi",
                                    "libonnxruntime.so.1.*")))[-1])')
if [ ! -f "$ORT_ROOT/include/onnxruntime/onnxruntime_cxx_api.h" ]; then
    log "fetching ONNX Runtime C++ headers (Debian 13 libonnxruntime-dev, not installed)"
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/deb"
    printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: trixie" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
        > "$apt_dir/trixie.sources"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/trixie.sources"
              -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt_dir/lists"
              -o "Dir::Cache=$apt_dir/cache" -o APT::Architecture=amd64
              -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" -qq update
    (cd "$apt_dir/deb" && apt-get "${apt_opts[@]}" -qq download libonnxruntime-dev)
    dpkg -x "$apt_dir"/deb/libonnxruntime-dev_*.deb "$apt_dir/x"
    mkdir -p "$ORT_ROOT/include"
    cp -r "$apt_dir/x/usr/include/onnxruntime" "$ORT_ROOT/include/"
    rm -rf "$apt_dir"
fi
mkdir -p "$ORT_ROOT/lib"
if [ "$(readlink "$ORT_ROOT/lib/libonnxruntime.so.1")" != "$ort_lib" ]; then
    log "linking $ort_lib for the C++ blocks"
    ln -sfn "$ort_lib" "$ORT_ROOT/lib/libonnxruntime.so.1"
    ln -sfn libonnxruntime.so.1 "$ORT_ROOT/lib/libonnxruntime.so"
    rm -rf build
fi

# 5. Build and install the module into the venv. cmake and make only redo what changed.
if [ ! -f build/CMakeCache.txt ]; then
    log "configuring build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$VENV" \
        -DCMAKE_INSTALL_RPATH="$VENV/lib/x86_64-linux-gnu;$VENV/lib" \
        -DWIGENAI_ORT_ROOT="$ORT_ROOT" \
        -DPYTHON_EXECUTABLE="$VENV/bin/python" >/dev/null
fi
cmake --build build -j"$(nproc)" >build/build.log 2>&1 \
    || { tail -40 build/build.log; echo "bootstrap: build failed, see build/build.log" >&2; exit 1; }
cmake --install build >build/install.log 2>&1 \
    || { tail -20 build/install.log; exit 1; }
grep -v "Up-to-date" build/install.log | sed 's/^/[install] /' || true

# 6. GRC launchers in the venv: GNU Radio Companion and grcc run with the venv's python
# (which sees the module, the library and Debian's GNU Radio) and find the block YAMLs.
for tool in gnuradio-companion grcc; do
    target=$VENV/bin/$tool
    want="#!/bin/sh
# Generated by scripts/bootstrap.sh: $tool with the venv's python and blocks.
export GRC_BLOCKS_PATH=\"\${GRC_BLOCKS_PATH:-$VENV/share/gnuradio/grc/blocks}\"
exec \"$VENV/bin/python\" /usr/bin/$tool \"\$@\""
    if [ "$(cat "$target" 2>/dev/null)" != "$want" ]; then
        printf '%s\n' "$want" > "$target"
        chmod +x "$target"
        log "wrote $target"
    fi
done
