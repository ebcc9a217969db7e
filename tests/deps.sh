#!/bin/sh
# tests/deps.sh check|install — are termloom's build and test dependencies here?
# install: on Debian/Ubuntu as root, installs them with apt-get; elsewhere prints the line.
set -u
APT="libncurses-dev libcurl4-openssl-dev libjansson-dev libutf8proc-dev pkg-config tmux graphviz make gcc clang"
missing() {
    for p in ncursesw libcurl jansson libutf8proc; do
        pkg-config --exists "$p" 2>/dev/null || { echo "$p"; return 0; }
    done
    for c in tmux dot cc; do command -v "$c" >/dev/null 2>&1 || { echo "$c"; return 0; }; done
    return 1
}
case "${1:-check}" in
check)
    m=$(missing) && { echo "termloom: missing dependency: $m (running make deps)" >&2; exit 1; }
    exit 0 ;;
install)
    m=$(missing) || { echo "dependencies: all present"; exit 0; }
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends $APT >/dev/null || {
            echo "make deps: apt-get install failed" >&2; exit 1; }
        m=$(missing) && { echo "make deps: still missing $m after apt-get" >&2; exit 1; }
        echo "dependencies: installed"; exit 0
    fi
    echo "make deps: missing $m. Install the dependencies with one of:" >&2
    echo "  apt-get install $APT" >&2
    echo "  dnf install ncurses-devel libcurl-devel jansson-devel utf8proc-devel pkgconf tmux graphviz" >&2
    echo "  pacman -S ncurses curl jansson libutf8proc pkgconf tmux graphviz" >&2
    echo "  brew install ncurses curl jansson utf8proc pkg-config tmux graphviz" >&2
    exit 1 ;;
esac
