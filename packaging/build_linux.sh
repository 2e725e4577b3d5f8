#!/usr/bin/env bash
# Build the one-folder Linux app with PyInstaller:  packaging/build_linux.sh
#
# Creates (or reuses) its own virtual environment, installs embryo-gui with the pins of
# constraints.txt (torch from the CPU wheel index: the default Linux wheel pulls in CUDA, several
# GB) plus PyInstaller, and builds dist/embryo-gui/.  Then run packaging/check_build.sh.
#
# Environment overrides:
#   PYTHON       interpreter used to create the venv          (default: python3; needs >= 3.10)
#   BUILD_VENV   venv to create/reuse                          (default: build/pyinstaller-venv)
#   DIST_DIR     output folder                                 (default: dist)
#   WORK_DIR     PyInstaller work folder                       (default: build/pyinstaller)
#   TORCH_INDEX  index for the torch wheel                     (default: PyTorch CPU index)
#   PYINSTALLER  PyInstaller requirement                       (default: pyinstaller>=6.5,<7)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD_VENV="${BUILD_VENV:-$ROOT/build/pyinstaller-venv}"
DIST_DIR="${DIST_DIR:-$ROOT/dist}"
WORK_DIR="${WORK_DIR:-$ROOT/build/pyinstaller}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
PYINSTALLER="${PYINSTALLER:-pyinstaller>=6.5,<7}"
CONSTRAINTS="$ROOT/constraints.txt"

log() { printf '\033[1mbuild_linux:\033[0m %s\n' "$*"; }

if [[ ! -x "$BUILD_VENV/bin/python" ]]; then
    log "creating venv $BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
fi
PY="$BUILD_VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip

log "installing torch (CPU build) pinned by $CONSTRAINTS"
TORCH_PIN="$(grep -E '^torch==' "$CONSTRAINTS" || echo torch)"
if ! "$PY" -m pip install --quiet --index-url "$TORCH_INDEX" "$TORCH_PIN"; then
    # no access to that index (e.g. a machine that only reaches PyPI and a local wheel cache):
    # the plain pinned install takes whatever build of that version pip is configured to find
    log "torch index $TORCH_INDEX not reachable; installing $TORCH_PIN from the configured index"
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" "$TORCH_PIN"
fi

log "installing embryo-gui and $PYINSTALLER"
# A regular (non-editable) install: the bundle then takes the package exactly as a wheel ships it.
"$PY" -m pip install --quiet -c "$CONSTRAINTS" "$ROOT" "$PYINSTALLER"

log "building (this takes several minutes: torch and Qt are large)"
"$PY" -m PyInstaller --noconfirm --clean \
    --distpath "$DIST_DIR" --workpath "$WORK_DIR" \
    "$ROOT/packaging/embryo-gui.spec"

# PyInstaller copies torch's shared libraries twice (next to the executable and in torch/lib):
# replace each identical top-level copy by a relative symlink (saves ~450 MB).
dedupe_torch_libs() {
    local internal="$1" saved=0 f
    [[ -d "$internal/torch/lib" ]] || return 0
    for f in "$internal"/*.so*; do
        local name="${f##*/}"
        if [[ -f "$f" && ! -L "$f" && -f "$internal/torch/lib/$name" ]] && cmp -s "$f" "$internal/torch/lib/$name"; then
            saved=$((saved + $(stat -c %s "$f")))
            ln -sf "torch/lib/$name" "$f"
        fi
    done
    log "deduplicated torch libraries: $((saved / 1048576)) MB saved"
}
dedupe_torch_libs "$DIST_DIR/embryo-gui/_internal"

log "done: $DIST_DIR/embryo-gui/embryo-gui ($(du -sh "$DIST_DIR/embryo-gui" | cut -f1))"
log "next: packaging/check_build.sh $DIST_DIR/embryo-gui"
