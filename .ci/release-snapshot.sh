#!/usr/bin/env bash
# The release, checked offline: `make release-snapshot` builds the archives
# of every platform (no tag, nothing published, no network but the Go module
# proxy), and this script checks what a release would ship: the six archives
# and checksums.txt, that the checksums verify, that the linux/amd64 binary
# carries the stamped version and commit, and that every archive holds the
# binary, the man page and the completions. Then the container image is
# built and run where a container engine works. .ci/run calls it after make
# test; it takes a few minutes (most of it the six builds; GoReleaser itself
# is built once per machine and version).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

fail() {
  echo "release-snapshot: FAIL: $*" >&2
  exit 1
}

# unzip lists the Windows archives (Debian's package, as .ci/run installs
# PostgreSQL's).
if ! command -v unzip >/dev/null 2>&1; then
  echo "installing unzip from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null; }
fi

make release-snapshot

commit=$(git rev-parse HEAD)
shopt -s nullglob
linux=(dist/applinkctl_*_linux_amd64.tar.gz)
[ ${#linux[@]} -eq 1 ] || fail "want one linux/amd64 archive in dist/, found ${#linux[@]}"
version=${linux[0]#dist/applinkctl_}
version=${version%_linux_amd64.tar.gz}
echo "release-snapshot: version $version, commit $commit"

archives=()
for os in linux darwin windows; do
  for arch in amd64 arm64; do
    ext=tar.gz exe=applinkctl
    if [ "$os" = windows ]; then ext=zip exe=applinkctl.exe; fi
    a=applinkctl_${version}_${os}_${arch}.${ext}
    [ -f "dist/$a" ] || fail "dist/$a is missing"
    archives+=("$a")
    if [ "$ext" = zip ]; then
      list=$(unzip -Z1 "dist/$a")
    else
      list=$(tar -tzf "dist/$a")
    fi
    for f in "$exe" README.md man/applinkctl.1 completions/applinkctl.bash completions/_applinkctl completions/applinkctl.fish; do
      grep -qx "$f" <<<"$list" || fail "$a lacks $f (it holds: $(tr '\n' ' ' <<<"$list"))"
    done
  done
done

[ -f dist/checksums.txt ] || fail "dist/checksums.txt is missing"
for a in "${archives[@]}"; do
  grep -Eq "^[0-9a-f]{64}  $a\$" dist/checksums.txt || fail "checksums.txt does not list $a"
done
[ "$(wc -l <dist/checksums.txt)" -eq 6 ] || fail "checksums.txt lists $(wc -l <dist/checksums.txt) files, want the 6 archives"
(cd dist && sha256sum -c --strict checksums.txt) || fail "checksums do not verify"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "${linux[0]}" -C "$tmp"
out=$("$tmp/applinkctl" version)
echo "$out"
grep -qx "applinkctl $version" <<<"$out" || fail "the linux/amd64 binary does not say version $version"
grep -qx "commit: $commit" <<<"$out" || fail "the linux/amd64 binary does not say commit $commit"
cmp -s "$tmp/man/applinkctl.1" docs/man/applinkctl.1 || fail "the archive's man page is not docs/man/applinkctl.1"
"$tmp/applinkctl" completion bash | cmp -s - "$tmp/completions/applinkctl.bash" || fail "the archive's bash completion is not what the binary prints"
file_out=$(file "$tmp/applinkctl" 2>/dev/null || true)
case $file_out in *dynamically*) fail "the linux/amd64 binary is not static: $file_out" ;; esac

# The container image, where an engine works; without one it is an external
# tool missing, not a failure.
engine=""
for e in docker podman; do
  if command -v "$e" >/dev/null 2>&1 && "$e" info >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -n "$engine" ]; then
  tag=applinkctl-ci:$commit
  "$engine" build -q -t "$tag" --build-arg VERSION="$version" --build-arg COMMIT="$commit" . >/dev/null
  out=$("$engine" run --rm "$tag" version)
  grep -qx "commit: $commit" <<<"$out" || fail "the image's applinkctl does not say commit $commit: $out"
  user=$("$engine" image inspect --format '{{.Config.User}}' "$tag")
  case $user in "" | 0 | 0:* | root | root:*) fail "the image runs as root ($user)" ;; esac
  # As GitLab CI runs a job script in it: a shell, applinkctl on PATH, not root.
  out=$("$engine" run --rm --entrypoint sh "$tag" -c 'id -u; applinkctl version')
  grep -qx 10001 <<<"$out" && grep -qx "commit: $commit" <<<"$out" || fail "sh in the image: $out"
  "$engine" image rm -f "$tag" >/dev/null
  echo "release-snapshot: image built with $engine and runs as $user"
else
  echo "release-snapshot: image not built: no working container engine (docker or podman) on this machine"
fi

echo "release-snapshot: ok in $(($(date +%s) - start))s"
