#!/usr/bin/env bash
# opencontainers/runtime-tools' validation suite, built here from Debian's source package (the
# package mirror serves trixie's golang-github-opencontainers-runtime-tools_0.9.0.109.ge931285
# orig tarball; bookworm's -dev package has no validation/ or runtimetest) with Debian's Go 1.19
# and the Go libraries Debian packages, in GOPATH mode. tap-go, which Debian does not package, is
# test/runtime-tools/tap-go (skiff's own). Run as root (it installs packages). Does I/O.
#
#   bash test/runtime-tools/build.sh DIR    → DIR/runtimetest, DIR/rootfs-amd64.tar.gz, DIR/validation/*.t
set -euo pipefail
out=${1:?usage: build.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
version=0.9.0.109.ge931285
sha256=203989a1ea98cf2aaced79155bbda09270b20db19b03376dde91ab12e5e6a0fe
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball=golang-github-opencontainers-runtime-tools_${version}.orig.tar.xz
if [ -x "$out/runtimetest" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "$version" ]; then exit 0; fi
deps=(golang-go golang-github-blang-semver-dev golang-github-google-uuid-dev golang-github-hashicorp-go-multierror-dev
  golang-github-mrunalp-fileutils-dev golang-github-opencontainers-specs-dev golang-github-opencontainers-selinux-dev
  golang-github-sirupsen-logrus-dev golang-github-urfave-cli-dev golang-github-xeipuuv-gojsonschema-dev
  golang-gocapability-dev golang-golang-x-sys-dev curl xz-utils)
missing=()
for p in "${deps[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=300 -q update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsS -o "$work/$tarball" "$mirror/pool/main/g/golang-github-opencontainers-runtime-tools/$tarball"
echo "$sha256  $work/$tarball" | sha256sum -c --quiet
gp=$work/gopath/src/github.com
mkdir -p "$gp/opencontainers/runtime-tools" "$gp/mndrix" "$gp/blang/semver"
tar -xJf "$work/$tarball" -C "$gp/opencontainers/runtime-tools" --strip-components=1
cp -a "$here/tap-go" "$gp/mndrix/tap-go"
# runtime-tools imports semver's v4 path; Debian's package is the same code at the old path
cp -a /usr/share/gocode/src/github.com/blang/semver "$gp/blang/semver/v4"
mkdir -p "$out/validation"
cd "$gp/opencontainers/runtime-tools"
export GO111MODULE=off GOPATH=$work/gopath:/usr/share/gocode GOCACHE=$work/cache GOFLAGS=
# runtimetest runs inside the test containers (a busybox root): static
CGO_ENABLED=0 go build -o "$out/runtimetest" ./cmd/runtimetest
for d in validation/*/; do
  n=$(basename "$d")
  [ "$n" = util ] || go build -o "$out/validation/$n.t" "./$d"
done
cp "rootfs-$(go env GOARCH).tar.gz" "$out/"
echo "$version" >"$out/VERSION"
echo "runtime-tools $version: $(ls "$out/validation" | wc -l) validation programs in $out"
