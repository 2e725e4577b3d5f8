#!/usr/bin/env bash
# Check a PyInstaller build from the bundle itself:  packaging/check_build.sh [dist/embryo-gui]
#                                                     (or: make check-bundle)
#
# Proves, running only the bundled executables (embryo-gui, embryo-repair):
#   1. layout: resources, licences (Qt's LGPL), Blosc filter present; trimmed/excluded parts absent
#   2. `embryo-gui --version`, `embryo-repair --version`
#   3. a project made OUTSIDE the bundle (by the build venv's embryo-gui, Blosc-compressed frames)
#      is read by the bundle: `embryo-repair info` and `detect` (decodes every frame), GUI opens it
#   4. a short training run in the trainer's spawned child process (the GUI's own code path)
#   5. the demo, headless (offscreen) -- and its temporary folder is gone afterwards
#   6. the demo under a real X server (Xvfb): window class, desktop file name, screenshot
#   7. the install/uninstall snippet of docs/PACKAGING.md (packaging/linux/install.sh) into a
#      scratch HOME, and the installed commands run
# Everything is logged to $LOG_DIR (default build/check-bundle/<date-time>/, kept): check.log,
# one log per step, screenshot.png.  Exit status 0 only if every check passed.
#
# Needs for step 6: xvfb-run, xauth, xwininfo/xprop (x11-utils), xwd (x11-apps) and the X11
# libraries Qt's xcb plugin needs on any desktop (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1 ...):
#   apt-get install xvfb xauth x11-utils x11-apps libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
# SKIP_X11=1 skips step 6 (reported as skipped, not passed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_DIR="$(cd "${1:-$ROOT/dist/embryo-gui}" 2>/dev/null && pwd || echo "${1:-$ROOT/dist/embryo-gui}")"
EXE="$APP_DIR/embryo-gui"
CLI="$APP_DIR/embryo-repair"
BUILD_VENV="${BUILD_VENV:-$ROOT/build/pyinstaller-venv}"
MAKER="${MAKER:-$BUILD_VENV/bin/python}"   # makes the outside project (installed embryo-gui; run outside the tree)
QUIT_AFTER="${QUIT_AFTER:-8}"
TIME_LIMIT="${TIME_LIMIT:-300}"
LOG_DIR="${LOG_DIR:-$ROOT/build/check-bundle/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$LOG_DIR"
LOG_DIR="$(cd "$LOG_DIR" && pwd)"
exec > >(tee -a "$LOG_DIR/check.log") 2>&1
failures=0
skipped=0
SCRATCH="$LOG_DIR/scratch"
mkdir -p "$SCRATCH/tmp"
export TMPDIR="$SCRATCH/tmp"     # the bundle's temporary folders land here, where we can count them
unset PYTHONPATH PYTHONHOME
export OMP_WAIT_POLICY=PASSIVE

fail() { printf 'check_build: FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'check_build: ok: %s\n' "$*"; }
skip() { printf 'check_build: SKIPPED: %s\n' "$*"; skipped=$((skipped + 1)); }
# run NAME CMD...: run with a time limit, output to $LOG_DIR/NAME.log; returns the exit status
run() {
    local name="$1"; shift
    timeout "$TIME_LIMIT" "$@" > "$LOG_DIR/$name.log" 2>&1
}
clean_log() {  # errors that must never appear in a log of the bundle
    ! grep -E -n 'Traceback|Could not parse|Cannot open file|ModuleNotFoundError|ImportError|Cannot initialize filter|Could not load the Qt platform plugin' "$LOG_DIR/$1.log"
}

printf 'check_build: bundle %s, logs in %s\n' "$APP_DIR" "$LOG_DIR"
[[ -x "$EXE" ]] || { printf 'check_build: error: %s: no executable (build first: packaging/build_linux.sh)\n' "$EXE"; exit 2; }

# 1. layout ------------------------------------------------------------------------------------
INTERNAL="$APP_DIR/_internal"
if [[ -L "$CLI" && "$(readlink "$CLI")" == embryo-gui ]]; then ok "embryo-repair -> embryo-gui"; else fail "embryo-repair is not a symlink to embryo-gui"; fi
data_root="$INTERNAL/embryo_gui/resources_data"
for rel in themes/light.qss themes/dark.qss app/embryo-gui.svg app/embryo-gui-256.png icons/open.svg \
           icons/autoclean.svg themes/dark/chevron-down.svg; do
    [[ -s "$data_root/$rel" ]] || fail "resource $rel missing from $data_root"
done
ok "resources bundled in _internal/embryo_gui/resources_data"
for lic in licenses/README.txt licenses/PySide6_Essentials/LGPL-3.0.txt licenses/PySide6_Essentials/GPL-3.0.txt \
           licenses/shiboken6/LGPL-3.0.txt licenses/Python/LICENSE.txt licenses/embryo-gui/LICENSE; do
    [[ -s "$APP_DIR/$lic" ]] || fail "$lic missing"
done
grep -q "GNU LESSER GENERAL PUBLIC LICENSE" "$APP_DIR/licenses/PySide6_Essentials/LGPL-3.0.txt" 2>/dev/null \
    || fail "the Qt LGPL text is not the LGPL"
for dist in torch numpy scipy h5py hdf5plugin opencv-python-headless pyqtgraph tifffile; do
    compgen -G "$APP_DIR/licenses/$dist/*" > /dev/null || fail "no licence of $dist in licenses/"
done
ok "licences: $(find "$APP_DIR/licenses" -type f | wc -l) files for $(ls "$APP_DIR/licenses" | grep -v README | wc -l) components"
[[ -f "$INTERNAL/hdf5plugin/plugins/libh5blosc.so" ]] && ok "Blosc filter bundled" || fail "hdf5plugin's Blosc filter is missing"
[[ -x "$INTERNAL/torch/bin/torch_shm_manager" ]] || fail "torch/bin/torch_shm_manager is missing (import torch needs it)"
present=0
# a name ending in / is a folder; any other, the start of a file or folder name
for unwanted in torchvision torch/test/ torch/bin/test_ torch/bin/protoc torch/include/ hdf5plugin/plugins/libh5sz3.so \
                hdf5plugin/plugins/libh5blosc2.so PySide6/Qt/lib/libQt6WebEngineCore.so.6 PySide6/QtWebEngineCore; do
    if [[ "$unwanted" == */ ]]; then [[ -e "$INTERNAL/$unwanted" ]]; else compgen -G "$INTERNAL/$unwanted*" > /dev/null; fi \
        && { fail "$unwanted is bundled but should not be"; present=1; }
done
[[ $present == 0 ]] && ok "trimmed and excluded parts are absent"

# 2. --version -----------------------------------------------------------------------------------
if run version "$EXE" --version && grep -q "^embryo-gui .*project format version" "$LOG_DIR/version.log"; then
    ok "embryo-gui --version: $(head -n 1 "$LOG_DIR/version.log")"
else
    fail "embryo-gui --version: $(cat "$LOG_DIR/version.log")"
fi
if run cli-version "$CLI" --version && grep -q "^embryo-repair " "$LOG_DIR/cli-version.log"; then
    ok "embryo-repair --version: $(head -n 1 "$LOG_DIR/cli-version.log")"
else
    fail "embryo-repair --version: $(cat "$LOG_DIR/cli-version.log")"
fi

# 3. a project made outside the bundle --------------------------------------------------------------
outside="$SCRATCH/outside.h5"
if [[ ! -x "$MAKER" ]] || ! (cd "$SCRATCH" && "$MAKER" -c 'import embryo_gui') 2> /dev/null; then
    fail "$MAKER cannot import embryo_gui: set MAKER to a Python with embryo-gui installed"
elif ! (cd "$SCRATCH" && run make-outside "$MAKER" -m embryo_gui.cli.main demo "$outside" --embryos 2 --frames 24 --size 376x256); then
    fail "making a project with $MAKER failed: $(tail -n 3 "$LOG_DIR/make-outside.log")"
else
    # the frames really are Blosc-compressed (filter 32001), so reading them needs the bundled filter
    blosc="$(cd "$SCRATCH" && "$MAKER" -c 'import sys, h5py
seen = []
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.ndim >= 3: seen.append(str(obj.id.get_create_plist().get_filter(0)[0]) if obj.id.get_create_plist().get_nfilters() else "none")
import glob, os
for f in glob.glob(os.path.join(os.path.dirname(sys.argv[1]), "**", "*.h5"), recursive=True):
    with h5py.File(f, "r") as h: h.visititems(visit)
print(",".join(sorted(set(seen))))' "$outside" 2>&1)"
    [[ "$blosc" == *32001* ]] && ok "project made outside the bundle by $MAKER (frame filters: $blosc)" \
        || fail "the outside project's frames are not Blosc-compressed ($blosc)"
    if run info "$CLI" info "$outside" && grep -q "demo_01" "$LOG_DIR/info.log" && clean_log info; then
        ok "embryo-repair info reads it"
    else
        fail "embryo-repair info on the outside project: $(tail -n 5 "$LOG_DIR/info.log")"
    fi
    if run detect "$CLI" detect "$outside" && clean_log detect; then
        ok "embryo-repair detect decodes its Blosc frames: $(tail -n 1 "$LOG_DIR/detect.log")"
    else
        fail "embryo-repair detect on the outside project: $(tail -n 5 "$LOG_DIR/detect.log")"
    fi
    if QT_QPA_PLATFORM=offscreen run open-outside "$EXE" "$outside" --quit-after 3 \
            --settings "$SCRATCH/open.ini" --recovery-dir "$SCRATCH/rec" && clean_log open-outside; then
        ok "embryo-gui opens it (offscreen)"
    else
        fail "embryo-gui on the outside project: $(tail -n 5 "$LOG_DIR/open-outside.log")"
    fi
    # 4. training in the spawned child process (the GUI's path: gui.train_process)
    t0=$(date +%s)
    if run train "$EXE" --bundle-self-test train "$outside" && grep -q "child pid [0-9]" "$LOG_DIR/train.log" \
            && clean_log train; then
        ok "training in the child process ($(( $(date +%s) - t0 )) s): $(grep 'self-test train' "$LOG_DIR/train.log")"
    else
        fail "training in the child process: $(tail -n 8 "$LOG_DIR/train.log")"
    fi
fi

# 5. the demo, headless ----------------------------------------------------------------------------
t0=$(date +%s)
if QT_QPA_PLATFORM=offscreen run demo-offscreen "$EXE" --demo --demo-frames 40 --quit-after "$QUIT_AFTER" \
        --settings "$SCRATCH/demo.ini" --recovery-dir "$SCRATCH/rec" && clean_log demo-offscreen; then
    ok "embryo-gui --demo --quit-after $QUIT_AFTER (offscreen) exited 0 in $(( $(date +%s) - t0 )) s"
else
    fail "embryo-gui --demo (offscreen): $(tail -n 20 "$LOG_DIR/demo-offscreen.log")"
fi
if compgen -G "$TMPDIR/embryo-gui-demo-*" > /dev/null; then
    fail "the demo left its temporary folder: $(ls -d "$TMPDIR"/embryo-gui-demo-*)"
else
    ok "no embryo-gui-demo-* folder left in TMPDIR"
fi

# 6. the demo under a real X server ----------------------------------------------------------------
missing=""
for tool in xvfb-run xauth xwininfo xprop xwd; do command -v "$tool" > /dev/null || missing+=" $tool"; done
if [[ "${SKIP_X11:-0}" == 1 ]]; then
    skip "X11 run (SKIP_X11=1)"
elif [[ -n "$missing" ]]; then
    fail "X11 run: missing$missing (apt-get install xvfb xauth x11-utils x11-apps)"
else
    cat > "$SCRATCH/x11.sh" <<'EOF'
#!/usr/bin/env bash
# inside xvfb-run: start the demo, wait for its window with the demo project, probe it, screenshot
"$EXE" --demo --demo-frames 60 --quit-after 120 --settings "$SCRATCH/x11.ini" --recovery-dir "$SCRATCH/rec" &
pid=$!
win=""
for _ in $(seq 240); do
    win="$(xwininfo -root -children 2> /dev/null | grep -E '"[^"]*demo[^"]*": \(' | head -n 1 | awk '{print $1}')"
    [[ -n "$win" ]] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.5
done
[[ -n "$win" ]] || { echo "no demo window appeared"; kill "$pid" 2> /dev/null; wait "$pid"; exit 3; }
sleep 5   # let it paint
xwininfo -root -children | grep -F '("embryo-gui"'
xprop -id "$win" WM_CLASS _NET_WM_NAME _GTK_APPLICATION_ID
xwd -root -silent > "$SCRATCH/screen.xwd"
kill -TERM "$pid"   # a desktop session's logout: the demo folder must still be removed
wait "$pid"
echo "exit status after SIGTERM: $?"
EOF
    chmod +x "$SCRATCH/x11.sh"
    t0=$(date +%s)
    EXE="$EXE" SCRATCH="$SCRATCH" run x11 xvfb-run -a -s "-screen 0 1600x1000x24" "$SCRATCH/x11.sh"
    rc=$?
    if [[ $rc -ne 0 ]] || ! clean_log x11; then
        fail "X11 demo run (exit $rc): $(tail -n 20 "$LOG_DIR/x11.log")"
    else
        ok "X11 demo window in $(( $(date +%s) - t0 )) s: $(grep -F 'WM_CLASS' "$LOG_DIR/x11.log")"
        grep -q 'WM_CLASS(STRING) = "embryo-gui", "embryo-gui"' "$LOG_DIR/x11.log" \
            || fail "the window's WM_CLASS does not match StartupWMClass=embryo-gui"
        if python3 "$ROOT/packaging/xwd2png.py" "$SCRATCH/screen.xwd" "$LOG_DIR/screenshot.png"; then
            ok "screenshot $LOG_DIR/screenshot.png ($(stat -c %s "$LOG_DIR/screenshot.png") bytes)"
        else
            fail "could not convert the screenshot"
        fi
        rm -f "$SCRATCH/screen.xwd"
        if compgen -G "$TMPDIR/embryo-gui-demo-*" > /dev/null; then
            fail "SIGTERM left the demo's temporary folder"
        else
            ok "SIGTERM: demo folder removed ($(grep 'exit status' "$LOG_DIR/x11.log"))"
        fi
    fi
fi

# 7. install / uninstall as docs/PACKAGING.md says ----------------------------------------------------
fake_home="$SCRATCH/home"
mkdir -p "$fake_home"
if run install env HOME="$fake_home" "$ROOT/packaging/linux/install.sh" "$APP_DIR" \
        && run installed-version env HOME="$fake_home" "$fake_home/.local/bin/embryo-gui" --version \
        && run installed-cli env HOME="$fake_home" "$fake_home/.local/bin/embryo-repair" --version; then
    ok "install.sh into a scratch HOME: $(cat "$LOG_DIR/installed-version.log"); $(cat "$LOG_DIR/installed-cli.log")"
    if command -v desktop-file-validate > /dev/null; then
        desktop-file-validate "$fake_home/.local/share/applications/org.embryogui.EmbryoGui.desktop" \
            && ok "installed desktop file validates" || fail "installed desktop file does not validate"
    fi
    if run uninstall env HOME="$fake_home" "$ROOT/packaging/linux/install.sh" --uninstall \
            && [[ -z "$(find "$fake_home" \( -type f -o -type l \) -not -name '*.cache')" ]]; then
        ok "install.sh --uninstall leaves nothing behind (but the desktop's regenerated caches)"
    else
        fail "uninstall left: $(find "$fake_home" \( -type f -o -type l \) -not -name '*.cache' | head)"
    fi
else
    fail "install.sh: $(tail -n 5 "$LOG_DIR"/install*.log)"
fi

rm -rf "$SCRATCH"
printf 'check_build: bundle size %s (%s bytes)\n' "$(du -sh "$APP_DIR" | cut -f1)" "$(du -sb "$APP_DIR" | cut -f1)"
printf 'check_build: log kept in %s\n' "$LOG_DIR/check.log"
if [[ $failures -gt 0 ]]; then
    printf 'check_build: %d check(s) failed\n' "$failures"
    exit 1
fi
printf 'check_build: all checks passed%s\n' "$([[ $skipped -gt 0 ]] && echo " ($skipped skipped)")"
