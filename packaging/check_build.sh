#!/usr/bin/env bash
# Smoke-test a PyInstaller build:  packaging/check_build.sh [dist/embryo-gui]
#
# Starts the bundled app headless (QT_QPA_PLATFORM=offscreen) on a generated demo project and
# lets it quit by itself (`embryo-gui --demo --quit-after SECONDS`), then checks the exit status,
# the bundled resources, and that nothing unwanted (torchvision, Qt WebEngine) was bundled.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_DIR="${1:-$ROOT/dist/embryo-gui}"
EXE="$APP_DIR/embryo-gui"
QUIT_AFTER="${QUIT_AFTER:-5}"
TIME_LIMIT="${TIME_LIMIT:-180}"
failures=0

fail() { printf 'check_build: FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { printf 'check_build: ok: %s\n' "$*"; }

[[ -x "$EXE" ]] || { printf 'check_build: error: %s: no executable (build first)\n' "$EXE" >&2; exit 2; }

# 1. bundled resources, where importlib.resources looks for them
data_root="$(find "$APP_DIR" -type d -path '*/embryo_gui/resources_data' | head -n 1)"
if [[ -z "$data_root" ]]; then
    fail "embryo_gui/resources_data is not in the bundle"
else
    for rel in themes/light.qss themes/dark.qss app/embryo-gui.svg app/embryo-gui-256.png \
               icons/open.svg icons/autoclean.svg themes/dark/chevron-down.svg; do
        [[ -s "$data_root/$rel" ]] || fail "resource $rel missing from $data_root"
    done
    ok "resources bundled in ${data_root#"$APP_DIR"/}"
fi

# 2. excluded packages stay out
for unwanted in torchvision PySide6/QtWebEngineCore PySide6/Qt/lib/libQt6WebEngineCore; do
    if compgen -G "$APP_DIR/_internal/$unwanted*" > /dev/null; then
        fail "$unwanted is bundled but should be excluded"
    fi
done

# 3. the app starts on a demo project and quits cleanly, headless
log_file="$(mktemp -t embryo-gui-check.XXXXXX.log)"
settings="$(mktemp -t embryo-gui-check.XXXXXX.ini)"
start=$(date +%s)
set +e
QT_QPA_PLATFORM=offscreen timeout "$TIME_LIMIT" \
    "$EXE" --demo --quit-after "$QUIT_AFTER" --settings "$settings" > "$log_file" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
if [[ $rc -ne 0 ]]; then
    fail "embryo-gui --demo --quit-after $QUIT_AFTER exited with $rc after ${elapsed}s; log:"
    tail -n 40 "$log_file" >&2
elif grep -E -q 'Traceback|Could not parse|Cannot open file|ModuleNotFoundError' "$log_file"; then
    fail "embryo-gui ran but logged errors:"
    grep -E -n 'Traceback|Could not parse|Cannot open file|ModuleNotFoundError' "$log_file" >&2
else
    ok "embryo-gui --demo --quit-after $QUIT_AFTER exited 0 in ${elapsed}s"
fi

# 4. --version prints the app version
if version_out="$(QT_QPA_PLATFORM=offscreen timeout 60 "$EXE" --version 2>&1)"; then
    ok "--version: $(echo "$version_out" | head -n 1)"
else
    fail "embryo-gui --version failed: $version_out"
fi
rm -f "$log_file" "$settings"

printf 'check_build: bundle size %s\n' "$(du -sh "$APP_DIR" | cut -f1)"
if [[ $failures -gt 0 ]]; then
    printf 'check_build: %d check(s) failed\n' "$failures" >&2
    exit 1
fi
printf 'check_build: all checks passed\n'
