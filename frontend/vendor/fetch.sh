#!/usr/bin/env bash
# Re-fetch the vendored browser libraries from the npm registry at the versions pinned in
# VERSIONS. `npm pack` downloads the published tarball only (no install scripts run), and we
# copy out the few dist files the UI imports (minified builds) plus each package's licence.
# Run by `make vendor`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version() { awk -v n="$1" '$1 == n { print $2 }' "$here/VERSIONS"; }

marked="$(version marked)"
dompurify="$(version dompurify)"
hljs="$(version @highlightjs/cdn-assets)"
# Grammars added on top of highlight.js's common set (python, js, bash, json, yaml, sql, ...).
extra_languages=(dockerfile nginx)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "marked@$marked" "dompurify@$dompurify" "@highlightjs/cdn-assets@$hljs" >/dev/null
for tgz in *.tgz; do mkdir "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done

out="$here"
rm -rf "$out/marked" "$out/dompurify" "$out/highlight"
mkdir -p "$out/marked" "$out/dompurify" "$out/highlight/languages" "$out/highlight/styles"

src="marked-$marked/package"
cp "$src/lib/marked.esm.js" "$src/lib/marked.esm.js.map" "$src/LICENSE" "$out/marked/"

# DOMPurify publishes its minified build only as UMD (purify.min.js; purify.es.mjs is not
# minified, 81 KB against 29 KB). Wrapped as an ES module: given a CommonJS-style `module`, the
# UMD code hands DOMPurify to it instead of setting a global. Its source map is left out: the
# wrapper's lines would shift every mapping.
src="dompurify-$dompurify/package"
{
  echo "// DOMPurify's own minified build (dist/purify.min.js) as an ES module, by fetch.sh:"
  echo "// given a CommonJS-style \`module\`, its UMD wrapper hands DOMPurify to it (no global)."
  echo "const module = { exports: {} }, exports = module.exports;"
  grep -v '^//# sourceMappingURL=' "$src/dist/purify.min.js"
  echo
  echo "export default module.exports;"
} >"$out/dompurify/purify.min.mjs"
cp "$src/LICENSE" "$out/dompurify/"
[ -f "$src/LICENSE-MPL" ] && cp "$src/LICENSE-MPL" "$out/dompurify/"

src="highlightjs-cdn-assets-$hljs/package"
cp "$src/es/highlight.min.js" "$src/LICENSE" "$out/highlight/"
for lang in "${extra_languages[@]}"; do
  cp "$src/es/languages/$lang.min.js" "$out/highlight/languages/"
done
cp "$src/styles/github.min.css" "$src/styles/github-dark.min.css" "$out/highlight/styles/"

echo "vendored marked $marked, dompurify $dompurify, @highlightjs/cdn-assets $hljs into $out"
