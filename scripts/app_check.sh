#!/usr/bin/env bash
# The app check: a throwaway package outside the repository depends on a tagged local clone of swift-omni by
# version (file:// URL and `from:`), imports SwiftOmni, loads Models/tiny-omni and generates. SwiftPM refuses
# unsafe build flags in any package that is not the root, so this fails if a library product carries one.
# Checks the committed HEAD (what a clone gets), not uncommitted changes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version="0.1.0"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/swift-omni"
git -C "$work/swift-omni" -c user.name=app-check -c user.email=app-check@localhost tag -f "$version" HEAD >/dev/null
mkdir -p "$work/app"
cp -R "$repo/scripts/app-check/Sources" "$work/app/"
sed -e "s|@OMNI_URL@|file://$work/swift-omni|" -e "s|@OMNI_VERSION@|$version|" \
    "$repo/scripts/app-check/Package.swift.in" > "$work/app/Package.swift"
cd "$work/app"
swift build 2>&1 | tail -5
.build/debug/AppCheck "$repo/Models/tiny-omni"
