#!/usr/bin/env bash
# Per-user install of the one-folder bundle (no root needed):
#
#   embryo-gui/linux/install.sh                 from an unpacked bundle (tar -xzf embryo-gui-*.tar.gz)
#   packaging/linux/install.sh dist/embryo-gui  from a checkout, after packaging/build_linux.sh
#   .../install.sh --uninstall                  removes everything it installed
#
# Installs into ~/.local (XDG): the bundle in ~/.local/opt/embryo-gui (copied with cp -a, which
# keeps its symlinks), the commands embryo-gui and embryo-repair in ~/.local/bin, the launcher in
# ~/.local/share/applications, the AppStream file in ~/.local/share/metainfo and the icons in
# ~/.local/share/icons/hicolor.  The launcher's Exec names ~/.local/bin/embryo-gui with its full
# path, so it works even where ~/.local/bin is not on the desktop session's PATH.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ID=org.embryogui.EmbryoGui
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
OPT="$HOME/.local/opt/embryo-gui"
BIN="$HOME/.local/bin"
SIZES="16 32 48 64 128 256 512"

refresh() {
    update-desktop-database "$DATA/applications" 2> /dev/null || true
    gtk-update-icon-cache -q -t "$DATA/icons/hicolor" 2> /dev/null || true
}

if [[ "${1:-}" == --uninstall ]]; then
    rm -rf "$OPT"
    rm -f "$BIN/embryo-gui" "$BIN/embryo-repair" "$DATA/applications/$ID.desktop" "$DATA/metainfo/$ID.metainfo.xml" \
          "$DATA/icons/hicolor/scalable/apps/$ID.svg"
    for n in $SIZES; do rm -f "$DATA/icons/hicolor/${n}x${n}/apps/$ID.png"; done
    refresh
    echo "embryo-gui uninstalled (your projects and settings are untouched)"
    exit 0
fi

# the bundle: the argument, else the bundle this script sits in, else a checkout's dist/
APP="${1:-}"
if [[ -z "$APP" ]]; then
    if [[ -x "$HERE/../embryo-gui" ]]; then APP="$HERE/.."; else APP="$HERE/../../dist/embryo-gui"; fi
fi
[[ -x "$APP/embryo-gui" ]] || { echo "install.sh: $APP/embryo-gui: no bundle there (build it: make bundle)" >&2; exit 2; }
APP="$(cd "$APP" && pwd)"
ICONS="$APP/_internal/embryo_gui/resources_data/app"

mkdir -p "$HOME/.local/opt" "$BIN"
rm -rf "$OPT"
cp -a "$APP" "$OPT"
ln -sf "$OPT/embryo-gui" "$BIN/embryo-gui"
ln -sf "$OPT/embryo-repair" "$BIN/embryo-repair"
mkdir -p "$DATA/applications" "$DATA/metainfo"
sed -e "s|^Exec=embryo-gui|Exec=$BIN/embryo-gui|" -e "s|^TryExec=embryo-gui|TryExec=$BIN/embryo-gui|" \
    "$HERE/$ID.desktop" > "$DATA/applications/$ID.desktop"
install -m644 "$HERE/$ID.metainfo.xml" "$DATA/metainfo/$ID.metainfo.xml"
for n in $SIZES; do install -Dm644 "$ICONS/embryo-gui-$n.png" "$DATA/icons/hicolor/${n}x${n}/apps/$ID.png"; done
install -Dm644 "$ICONS/embryo-gui.svg" "$DATA/icons/hicolor/scalable/apps/$ID.svg"
refresh
echo "embryo-gui installed in $OPT; commands: $BIN/embryo-gui, $BIN/embryo-repair"
case ":$PATH:" in *":$BIN:"*) ;; *) echo "note: $BIN is not on your PATH (the desktop launcher works anyway)";; esac
