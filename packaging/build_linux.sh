#!/usr/bin/env bash
# Build the one-folder Linux app with PyInstaller:  packaging/build_linux.sh   (or: make bundle)
#
# Works from any folder.  Creates (or reuses) its own virtual environment, builds a wheel of this
# checkout and installs it there (non-editable) with the pins of constraints.txt, torch as the CPU
# build, plus PyInstaller; then runs packaging/embryo-gui.spec from a folder outside the source
# tree, so that the bundle takes embryo_gui from the installed wheel and never from the checkout.
# Output: dist/embryo-gui/ (embryo-gui, embryo-repair -> embryo-gui, _internal/, licenses/).
# Then: packaging/check_build.sh  (or: make check-bundle).
#
# Environment overrides:
#   PYTHON        interpreter used to create the venv                 (default: python3; >= 3.10)
#   BUILD_VENV    venv to create/reuse                                 (default: build/pyinstaller-venv)
#   DIST_DIR      output folder                                        (default: dist)
#   WORK_DIR      PyInstaller work folder                              (default: build/pyinstaller)
#   TORCH_INDEX   index of CPU torch wheels; "" = only pip's own configuration
#                                                   (default: https://download.pytorch.org/whl/cpu)
#   PROBE_TIMEOUT seconds to wait for TORCH_INDEX before falling back (default: 5)
#   PYINSTALLER   PyInstaller requirement                              (default: pyinstaller>=6.5,<7)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD_VENV="${BUILD_VENV:-$ROOT/build/pyinstaller-venv}"
DIST_DIR="${DIST_DIR:-$ROOT/dist}"
WORK_DIR="${WORK_DIR:-$ROOT/build/pyinstaller}"
TORCH_INDEX="${TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
PROBE_TIMEOUT="${PROBE_TIMEOUT:-5}"
PYINSTALLER="${PYINSTALLER:-pyinstaller>=6.5,<7}"
CONSTRAINTS="$ROOT/constraints.txt"
mkdir -p "$DIST_DIR" "$WORK_DIR"
DIST_DIR="$(cd "$DIST_DIR" && pwd)"
WORK_DIR="$(cd "$WORK_DIR" && pwd)"
BUILD_LOG="${BUILD_LOG:-$WORK_DIR/build_linux.log}"
exec > >(tee "$BUILD_LOG") 2>&1   # the log is kept
# PYTHONPATH pointing into a source tree would hide the installed package, like the current folder
unset PYTHONPATH PYTHONHOME

log() { printf 'build_linux: %s\n' "$*"; }
t_start=$(date +%s)

if [[ ! -x "$BUILD_VENV/bin/python" ]]; then
    log "creating venv $BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
fi
PY="$BUILD_VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# -- torch: the CPU build, pinned --------------------------------------------------------------
TORCH_PIN="$(grep -E '^torch==' "$CONSTRAINTS" || true)"
[[ -n "$TORCH_PIN" ]] || { log "error: $CONSTRAINTS has no torch== pin"; exit 2; }
have_torch="$("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)"
if [[ "${have_torch%%+*}" == "${TORCH_PIN#torch==}" ]]; then
    log "torch $have_torch already installed"
else
    torch_from=()
    # one quick probe instead of pip's minutes of retries on an index it cannot reach
    if [[ -n "$TORCH_INDEX" ]] && "$PY" - "$TORCH_INDEX/torch/" "$PROBE_TIMEOUT" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=float(sys.argv[2]))
except Exception as exc:
    print(f"build_linux: {sys.argv[1]} not reachable ({exc.__class__.__name__}: {exc})")
    sys.exit(1)
EOF
    then
        torch_from=(--index-url "$TORCH_INDEX")
        log "installing $TORCH_PIN (CPU build) from $TORCH_INDEX"
    else
        log "installing $TORCH_PIN from pip's configured index / find-links (pip config list)"
    fi
    "${PIP[@]}" install --quiet --retries 1 "${torch_from[@]}" -c "$CONSTRAINTS" "$TORCH_PIN"
fi
cuda="$("$PY" -W ignore -c 'import torch; print(torch.version.cuda or "")')"
if [[ -n "$cuda" && "${ALLOW_CUDA_TORCH:-0}" != 1 ]]; then
    log "error: the installed torch is a CUDA build ($cuda): the bundle would be several GB."
    log "       Install a +cpu wheel into $BUILD_VENV (or set ALLOW_CUDA_TORCH=1)."
    exit 2
fi

# -- embryo-gui as a wheel, as a user installs it ----------------------------------------------
wheel_dir="$WORK_DIR/wheel"
rm -rf "$wheel_dir"
log "building the embryo-gui wheel"
"${PIP[@]}" wheel --quiet --no-deps -w "$wheel_dir" "$ROOT"
wheel="$(ls "$wheel_dir"/embryo_gui-*.whl)"
log "installing ${wheel##*/} and $PYINSTALLER with $CONSTRAINTS"
"${PIP[@]}" install --quiet -c "$CONSTRAINTS" "$wheel" "$PYINSTALLER"
"${PIP[@]}" install --quiet --no-deps --force-reinstall "$wheel"   # this checkout, even at the same version

# -- PyInstaller, from outside the source tree --------------------------------------------------
run_dir="$WORK_DIR/run"
mkdir -p "$run_dir"
log "running PyInstaller in $run_dir (several minutes: torch and Qt are large)"
t_pyi=$(date +%s)
(cd "$run_dir" && "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST_DIR" --workpath "$WORK_DIR" "$ROOT/packaging/embryo-gui.spec")
t_end=$(date +%s)

APP_DIR="$DIST_DIR/embryo-gui"
log "done: $APP_DIR/embryo-gui and $APP_DIR/embryo-repair -> $(readlink "$APP_DIR/embryo-repair" || echo '?')"
log "time: $((t_end - t_start)) s in all, PyInstaller $((t_end - t_pyi)) s"
log "size: $(du -sh "$APP_DIR" | cut -f1) ($(du -sb "$APP_DIR" | cut -f1) bytes); largest parts:"
du -s --block-size=1M "$APP_DIR"/_internal/* "$APP_DIR"/_internal/PySide6/Qt/lib 2>/dev/null \
    | sort -rn | head -n 12 | sed 's|'"$APP_DIR"/'||; s|^|    |'
log "log kept in $BUILD_LOG"
log "next: packaging/check_build.sh $APP_DIR"
