#!/usr/bin/env bash
# Builds a pinned Pulumi CLI from the Go module proxy into $DSTACK_HOME/pulumi/bin.
# `go install pkg@v` refuses modules with replace directives, so a tiny wrapper
# module pins pkg/v3 and sdk/v3 as tool dependencies and builds the tool from it.
set -euo pipefail
VERSION="${PULUMI_VERSION:-v3.248.0}"
HOME_DIR="${DSTACK_HOME:-$HOME/.dstack}"
OUT="$HOME_DIR/pulumi/bin"
SRC="$HOME_DIR/pulumi/src-$VERSION"
if [ -x "$OUT/pulumi" ] && "$OUT/pulumi" version 2>/dev/null | grep -qx "$VERSION"; then
  exit 0
fi
command -v go >/dev/null || { echo "go toolchain not found: install Go >= 1.24 to build Pulumi" >&2; exit 1; }
mkdir -p "$SRC" "$OUT"
cd "$SRC"
[ -f go.mod ] || go mod init dstack.local/pulumi-build >/dev/null 2>&1
go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$VERSION"
go get "github.com/pulumi/pulumi/sdk/v3@$VERSION"
go build -trimpath -o "$OUT/pulumi.tmp" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$OUT/pulumi.tmp" "$OUT/pulumi"
"$OUT/pulumi" version
