#!/usr/bin/env bash
# Install the system packages AvSync Studio builds against, only those that are missing.
# Debian/Ubuntu; uses sudo when not run as root. Rust (cargo) is the one prerequisite.
set -euo pipefail

packages=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libasound2-dev
  # Vulkan loader and Mesa's drivers: the editor's tests render its window headless
  # (software rasteriser when there is no GPU).
  libvulkan1 mesa-vulkan-drivers
)

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust first (rustup), then re-run." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (${missing[*]}) and no apt-get to install them." >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
