#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test this project:
# Debian packages (QEMU from bookworm-backports, OVMF/AAVMF firmware, qemu-img and
# dosfstools/mtools for the UEFI disk images, cmake and libclang for the unicorn-engine
# build) and the rustup targets/components.
# Idempotent: does nothing for what is already present.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

need_apt=()
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
command -v qemu-system-aarch64 >/dev/null || need_apt+=(qemu-system-arm)
command -v qemu-img >/dev/null || need_apt+=(qemu-utils)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || need_apt+=(ovmf)
[ -e /usr/share/AAVMF/AAVMF_CODE.fd ] || need_apt+=(qemu-efi-aarch64)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v mtools >/dev/null || command -v mcopy >/dev/null || need_apt+=(mtools)
command -v mkfs.fat >/dev/null || need_apt+=(dosfstools)
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  # QEMU must come from bookworm-backports: bookworm's 7.2 conflicts with the
  # machine's qemu-utils 10.0.
  qemu_pkgs=()
  other_pkgs=()
  for p in "${need_apt[@]}"; do
    case "$p" in
      qemu-system-*|qemu-utils|ovmf|qemu-efi-aarch64) qemu_pkgs+=("$p") ;;
      *) other_pkgs+=("$p") ;;
    esac
  done
  if [ ${#qemu_pkgs[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports "${qemu_pkgs[@]}"
  fi
  if [ ${#other_pkgs[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
      "${other_pkgs[@]}"
  fi
fi

installed_targets=$(rustup target list --installed)
for t in x86_64-unknown-none aarch64-unknown-none x86_64-unknown-uefi aarch64-unknown-uefi; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done
# Miri (on nightly) checks the host-testable unsafe code of hv-guest.
if ! rustup run nightly cargo miri --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
# The libraries' minimum supported Rust version, checked by `cargo xtask test`.
if ! rustup run 1.85 cargo --version >/dev/null 2>&1; then
  rustup toolchain install 1.85 --profile minimal
fi
# cargo-fuzz (run on nightly) fuzzes hv-guest's parsers of host-written data (fuzz/).
if ! rustup run nightly cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
for c in rust-src clippy rustfmt; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done
