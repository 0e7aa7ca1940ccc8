#!/usr/bin/env bash
# Check the system packages a target needs and install the missing ones with apt-get
# when that is possible (root, or passwordless sudo); otherwise say exactly what is missing.
#   scripts/system_deps.sh [book] [test] [lab]
set -u
needs=" $* "
missing_pkgs=()
missing_what=()

need() {  # need PACKAGE PATH-THAT-PROVES-IT WHAT-IT-IS-FOR
  if [ ! -e "$2" ]; then
    missing_pkgs+=("$1")
    missing_what+=("$1 ($2): $3")
  fi
}

case "$needs" in *" book "*|*" test "*)
  command -v npm >/dev/null 2>&1 || { missing_pkgs+=(npm); missing_what+=("npm: fetches the widget manager for the HTML book"); }
esac
case "$needs" in *" test "*)
  need chromium /usr/bin/chromium "the browser tests"
  need dataset-fashion-mnist /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
       "the image chapters run on Fashion-MNIST in CI (no network for MNIST)"
esac

[ ${#missing_pkgs[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "Installing system packages: ${missing_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null \
    && exit 0
  echo "error: apt-get could not install: ${missing_pkgs[*]}" >&2
else
  echo "error: these system packages are missing and apt-get cannot be used here:" >&2
fi
for line in "${missing_what[@]}"; do echo "  - $line" >&2; done
echo "Install them (Debian/Ubuntu: apt-get install ${missing_pkgs[*]}) and run make again." >&2
exit 1
