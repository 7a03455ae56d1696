#!/usr/bin/env bash
# Installs an MSI of packaging/windows/build.sh into a new Wine prefix, as
# a Windows user would, for the scripts that run the wallet under Wine
# (packaging/windows/measure.sh, packaging/screenshots.sh):
#
#   WINEPREFIX=DIR bash packaging/windows/wine/install.sh MSI
#
# Creates the prefix, puts the ProcessPrng shim built beside the MSI into
# its system32 (Wine 8.0 lacks ProcessPrng), runs `msiexec /i`, and waits
# until Wine's programs have ended: a desktop process Wine started without
# a display would keep later windows off the screen. Prints the Windows
# user's name. Run it with WINEDEBUG=-all and
# WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree=d;mshtml=d" exported, so
# that nothing is written into the host's menus.
set -euo pipefail
msi="$1"
: "${WINEPREFIX:?WINEPREFIX names the prefix to create}"
DISPLAY= /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1
/usr/lib/wine/wineserver64 -w
cp "$(dirname "$msi")/wine/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
DISPLAY= /usr/lib/wine/wine64 msiexec /i "Z:$(realpath "$msi" | tr / '\\')" /qn
/usr/lib/wine/wineserver64 -w
ls "$WINEPREFIX/drive_c/users" | grep -vx Public | head -n 1
