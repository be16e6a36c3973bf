#!/usr/bin/env bash
# Installs a software Vulkan driver so that Dawn (npm `webgpu`) finds an adapter on a machine with no GPU:
# Mesa >= 24's lavapipe, from bookworm-backports on Debian 12 (Mesa 22 from plain bookworm lacks
# features Dawn's Vulkan backend requires). Idempotent; does nothing where lavapipe is already present.
# Needs root (CI and the dev machines run as root) and Debian's package servers.
set -euo pipefail

icd_present() { ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; }
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+)\..*/\1/'; }

if icd_present && [ "$(mesa_major)" -ge 24 ] 2>/dev/null; then
  echo "install-vulkan: lavapipe (Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-vulkan: no apt-get here; install Mesa >= 24 (lavapipe) yourself to run the WebGPU suites" >&2
  exit 0
fi
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
  list=/etc/apt/sources.list.d/bookworm-backports.list
  [ -f "$list" ] || echo "deb http://deb.debian.org/debian bookworm-backports main" > "$list"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi
echo "install-vulkan: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
