#!/bin/sh
# Installs applinkctl: the release binary of a tag, verified against the
# release's checksums.txt, or, when no release matches (a branch, a commit,
# `latest`, a platform without a release binary, or a download answering
# 404), `go install` of that version. action.yml runs it; it works as well
# on any machine with sh, curl, tar (unzip on Windows) and sha256sum or
# shasum (see docs/install.md).
#
#   scripts/install.sh [VERSION]      VERSION: a tag (v1.2.0), a branch, a commit or latest
#
# Environment:
#   APPLINKCTL_BIN_DIR      where applinkctl goes (default: $RUNNER_TEMP/applinkctl-bin, else ./bin)
#   APPLINKCTL_RELEASE_URL  base of the release downloads, <base>/<tag>/<file>
#                           (default: https://github.com/applinkctl/applinkctl/releases/download)
#   APPLINKCTL_INSTALL      auto (default): the release, else go install; release: the release
#                           only; go: go install only
#   APPLINKCTL_SOURCE       a checkout of applinkctl to build instead (go install ./cmd/applinkctl there)
#   APPLINKCTL_GO_OPTIONAL  1: when go install is needed but there is no Go, say so in
#                           $GITHUB_OUTPUT (installed=false) and succeed, so the caller can set Go up
#
# Under GitHub Actions it writes installed=true|false and method=release|go|source to
# $GITHUB_OUTPUT and adds the directory to $GITHUB_PATH. A checksum mismatch, or a download
# failing other than with 404, is an error: nothing is installed and nothing is built instead.
set -eu

module=github.com/applinkctl/applinkctl
version=${1:-${APPLINKCTL_VERSION:-latest}}
base=${APPLINKCTL_RELEASE_URL:-https://github.com/applinkctl/applinkctl/releases/download}
base=${base%/}
mode=${APPLINKCTL_INSTALL:-auto}
bin=${APPLINKCTL_BIN_DIR:-}
if [ -z "$bin" ]; then
	if [ -n "${RUNNER_TEMP:-}" ]; then bin=$RUNNER_TEMP/applinkctl-bin; else bin=$PWD/bin; fi
fi

say() { printf 'applinkctl install: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
output() { if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s\n' "$@" >>"$GITHUB_OUTPUT"; fi; }

case $mode in auto | release | go) ;; *) die "APPLINKCTL_INSTALL=$mode: want auto, release or go" ;; esac
mkdir -p "$bin"
bin=$(cd "$bin" && pwd)

done_with() {
	output installed=true "method=$1"
	if [ -n "${GITHUB_PATH:-}" ]; then printf '%s\n' "$bin" >>"$GITHUB_PATH"; fi
	exit 0
}

# go_install builds VERSION (or the checkout in APPLINKCTL_SOURCE) into $bin.
go_install() {
	if ! command -v go >/dev/null 2>&1; then
		if [ "${APPLINKCTL_GO_OPTIONAL:-}" = 1 ]; then
			say "no release binary for $version here, and no Go to build it: set Go up, then run again with APPLINKCTL_INSTALL=go"
			output installed=false method=go
			exit 0
		fi
		die "no release binary for $version here, and no Go to build it (install Go, or pick a release tag)"
	fi
	if [ -n "${APPLINKCTL_SOURCE:-}" ]; then
		say "building $APPLINKCTL_SOURCE/cmd/applinkctl"
		(cd "$APPLINKCTL_SOURCE" && GOBIN="$bin" go install ./cmd/applinkctl)
		done_with source
	fi
	say "go install $module/cmd/applinkctl@$version"
	GOBIN="$bin" go install "github.com/applinkctl/applinkctl/cmd/applinkctl@${version}"
	done_with go
}

if [ -n "${APPLINKCTL_SOURCE:-}" ] || [ "$mode" = go ]; then
	go_install
fi

# Only a release tag has release binaries: vMAJOR.MINOR.PATCH[-PRERELEASE].
if ! printf '%s\n' "$version" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'; then
	[ "$mode" = release ] && die "$version is not a release tag (vX.Y.Z)"
	say "$version is not a release tag: building it"
	go_install
fi

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
MINGW* | MSYS* | CYGWIN* | Windows_NT) os=windows ;;
*) os= ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch= ;;
esac
if [ -z "$os" ] || [ -z "$arch" ]; then
	[ "$mode" = release ] && die "no release binary for $(uname -s)/$(uname -m)"
	say "no release binary for $(uname -s)/$(uname -m): building $version"
	go_install
fi
exe=applinkctl
archive=applinkctl_${version#v}_${os}_${arch}.tar.gz
if [ "$os" = windows ]; then
	exe=applinkctl.exe
	archive=applinkctl_${version#v}_${os}_${arch}.zip
fi

command -v curl >/dev/null 2>&1 || die "curl is needed to download the release"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only HTTPS, redirects included, unless the base itself is a plain-HTTP
# mirror (or a test server).
proto='=https'
case $base in http://*) proto='=https,http' ;; esac

# fetch URL FILE: 0 when downloaded, 1 when the server says 404; any other
# failure ends the script.
fetch() {
	code=$(curl -sSL --retry 3 --proto "$proto" --proto-redir "$proto" -o "$2" -w '%{http_code}' "$1") || die "download $1 failed"
	case $code in
	200) return 0 ;;
	404) return 1 ;;
	*) die "download $1: HTTP $code" ;;
	esac
}

url=$base/$version
if ! fetch "$url/checksums.txt" "$tmp/checksums.txt" || ! fetch "$url/$archive" "$tmp/$archive"; then
	[ "$mode" = release ] && die "no release $version at $url (404)"
	say "no release $version at $url (404): building it"
	go_install
fi

want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/checksums.txt")
[ -n "$want" ] || die "$archive is not listed in $url/checksums.txt: not installed"
if command -v sha256sum >/dev/null 2>&1; then
	got=$(sha256sum "$tmp/$archive" | awk '{ print $1 }')
elif command -v shasum >/dev/null 2>&1; then
	got=$(shasum -a 256 "$tmp/$archive" | awk '{ print $1 }')
else
	die "sha256sum or shasum is needed to verify the download"
fi
if [ "$got" != "$want" ]; then
	die "checksum mismatch for $archive: checksums.txt says $want, the download is $got: not installed"
fi
say "$archive: sha256 $got verified"

mkdir "$tmp/x"
if [ "$os" = windows ]; then
	unzip -q "$tmp/$archive" "$exe" -d "$tmp/x" || die "$archive holds no $exe"
else
	tar -xzf "$tmp/$archive" -C "$tmp/x" "$exe" || die "$archive holds no $exe"
fi
# Copied beside, then renamed: a reader never sees half a binary.
cp "$tmp/x/$exe" "$bin/.$exe.new"
chmod 0755 "$bin/.$exe.new"
mv -f "$bin/.$exe.new" "$bin/$exe"
say "installed $bin/$exe ($version, $os/$arch)"
done_with release
