#!/usr/bin/env bash
# The published package, checked as a new user meets it: `npm pack` (which
# runs `prepare`, the shipped build), the tarball installed into an empty
# project of its own (a git repository, so the report's commit must not be
# that project's), and the commands run from there with npx: --version, the
# demo, a kernel on xen and l4, the matrix, a small bench, the playground
# (served on a free port: the page, the app and its worker answer; and
# exported as static files), and the build side (a TypeScript guest built
# and run; cc, annotate, as; verify, load; objdump's round trip; a snapshot
# resumed elsewhere). Also checks what the tarball holds: no compiled
# tests, no source maps, a LICENSE, the playground's bundle (dist/web).
# Run by .ci/run after `npm test`; needs the npm registry for the package's
# dependencies.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-package: $*" >&2; exit 1; }

cd "$root"
version="$(node -p 'require("./package.json").version')"
tgz="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$work/$tgz" ] || fail "npm pack wrote no tarball"
listing="$(tar -tzf "$work/$tgz")"
if grep -E '^package/dist/(test|bench|scripts)/|\.map$' <<<"$listing"; then fail "the tarball ships compiled tests, benchmarks or source maps (above)"; fi
grep -qx 'package/LICENSE' <<<"$listing" || fail "the tarball has no LICENSE"
for f in index.html style.css app.js worker.js; do
  grep -qx "package/dist/web/$f" <<<"$listing" || fail "the tarball has no dist/web/$f (the playground's bundle: scripts/build-web.mjs in prepare)"
done
if tar -xzOf "$work/$tgz" --wildcards 'package/dist/src/*.js' | grep -q 'sourceMappingURL'; then fail "shipped JavaScript points at source maps"; fi

mkdir "$work/app"
cd "$work/app"
git init -q
git -c user.name=ci -c user.email=ci@localhost commit -q --allow-empty -m "the user's project"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$tgz"

set -x
[ "$(npx previrt --version)" = "$version" ] || fail "previrt --version does not print $version"
npx previrt demo
npx previrt kernel -o k.elf --disk disk.img
npx previrt run k.elf --hv xen --disk disk.img > xen.out
npx previrt run k.elf --hv l4 --disk disk.img > l4.out
cmp xen.out l4.out
# The build side as the README and docs/guest-language.md show it: a guest in
# TypeScript importing previrt/guest, built and run; the same program through
# cc, annotate and as one by one (the same ELF); verify, load; objdump -d
# turned back into the same kernel; a snapshot resumed on another back end.
cat > prog.ts <<'PROG'
import { outPort, PORT } from "previrt/guest";
const squares = new Int32Array(10);
export function main(): number {
  for (let i = 0; i < squares.length; i++) squares[i] = i * i;
  outPort(PORT.console, 79);
  return squares[9];
}
PROG
npx previrt build prog.ts -o prog.elf
status=0; npx previrt run prog.elf --hv xen > prog.out || status=$?
[ "$status" = 81 ] && [ "$(cat prog.out)" = "O" ] || fail "the guest-language example printed '$(cat prog.out)' and exited $status on xen, not 'O' and 81"
npx previrt cc prog.ts -o prog.s
npx previrt annotate prog.s -o prog.annotated.s --map
npx previrt as prog.annotated.s -o prog-steps.elf
cmp prog.elf prog-steps.elf || fail "cc + annotate + as did not give the ELF build gives"
npx previrt verify prog.elf
npx previrt load prog.elf --hv l4 --show-sites
npx previrt objdump -d k.elf > k.s
npx previrt as k.s -o k-again.elf
npx previrt objdump -d k-again.elf | cmp - k.s || fail "objdump -d of the re-assembled kernel differs from the kernel's"
npx previrt run k.elf --hv xen --disk disk.img --snapshot-at 1000000 --snapshot k.snap > /dev/null
npx previrt resume k.snap --hv l4 --disk disk.img > resumed.out
grep -q 'selfcheck: ok' resumed.out || fail "the kernel snapshotted on xen did not finish its self-check on l4"
npx previrt matrix k.elf --disk disk.img --allow-diverge trap
npx previrt bench --workloads compute --hv bare-plain,xen-pre,xen-para,l4-pre --scale 1 --repeats 1 --json report.json
npx previrt playground --export site
for f in index.html app.js worker.js; do cmp "site/$f" "node_modules/previrt/dist/web/$f"; done
node_modules/.bin/previrt playground --port 0 > playground.out &  # not npx: $! must be previrt itself, for the SIGTERM below
playground=$!
set +x
for _ in $(seq 50); do grep -q 'http://' playground.out 2>/dev/null && break; sleep 0.2; done
url="$(grep -o 'http://127.0.0.1:[0-9]*/' playground.out)" || { kill "$playground"; fail "previrt playground printed no URL"; }
for path in "" app.js worker.js style.css; do
  curl -fsS -o /dev/null "$url$path" || { kill "$playground"; fail "previrt playground does not serve /$path"; }
done
curl -fsS "$url" | grep -q '<script type="module" src="app.js">' || { kill "$playground"; fail "previrt playground's page is not the app"; }
kill "$playground"
wait "$playground" || fail "previrt playground did not stop cleanly on SIGTERM"
node -e '
  const r = JSON.parse(require("fs").readFileSync("report.json", "utf8"));
  if (r.commit !== "v'"$version"'") throw new Error("report commit is " + r.commit + ", not v'"$version"' (previrt is not a checkout here)");
  const bad = r.cells.filter((c) => c.status !== "ok");
  if (bad.length) throw new Error("cells not ok: " + bad.map((c) => c.config + " " + c.status + " " + (c.note ?? "")).join("; "));
'
echo "check-package: $tgz installs and runs (demo, xen, l4, matrix, bench, playground, the build side, a snapshot resumed)"
