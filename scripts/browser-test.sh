#!/usr/bin/env bash
# The HTML report in a real browser (Debian's chromium, headless; installed here when missing):
#   1. a real run of scenarios/teach/4-compare.yaml (SmolLM2, 5 methods on 4 hosts) with --html and
#      --json: the page loads with no console or script errors; per method the DOM has one lane per
#      host, one per link that carried bytes, and one arrow per message — compared with the JSON;
#      a screenshot is not blank;
#   2. a 1M-token Llama-3.1-70B projection on 16 hosts (star and ring): the same checks, the file
#      stays under 6 MB, and the load time is printed next to a blank page's (BENCHMARKS.md).
# Options: --screenshot FILE also copies the real run's screenshot there (Docs/report.png).
# Needs .build/release/starsim (scripts/test.sh builds it). Exit 1 on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'browser-test: %s\n' "$*" >&2; }
keep=""
if [ "${1:-}" = "--screenshot" ]; then keep="$2"; fi

if ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian's chromium (once)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
starsim=.build/release/starsim
[ -x "$starsim" ] || { say "$starsim is missing: run scripts/test.sh (it builds it)"; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/starsim-browser.XXXXXX")"
trap 'rm -rf "$work"' EXIT
browse() {  # browse MODE FILE [OUT]: headless chromium, its own profile, bounded in time
  local mode="$1" file="$2"
  timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-extensions --no-first-run \
    --user-data-dir="$work/profile" --enable-logging=stderr --v=0 --window-size=1280,1600 \
    "$mode" "file://$file"
}

say "a real run with --html (scenarios/teach/4-compare.yaml)"
sed "s|^name: teach-compare|name: teach-compare\ntrace: $work/traces|" scenarios/teach/4-compare.yaml > "$work/compare.yaml"
"$starsim" run "$work/compare.yaml" -q --html "$work/run.html" --json > "$work/run.json"
say "a 1M-token Llama-3.1-70B projection on 16 hosts with --html"
"$starsim" project --model llama-3.1-70b --context 1M --hosts 16 --gpus-per-host 8 --device h100-sxm \
  --intra-link nvlink-h100 --inter-link ib-ndr --methods star,ring --generate 4 --html "$work/project.html" --json > "$work/project.json" 2>/dev/null

status=0
for name in run project; do
  browse --dump-dom "$work/$name.html" > "$work/$name.dom" 2> "$work/$name.log" || { say "$name: chromium failed"; cat "$work/$name.log" >&2; exit 1; }
  browse --screenshot="$work/$name.png" "$work/$name.html" > /dev/null 2>> "$work/$name.log" || { say "$name: screenshot failed"; exit 1; }
  python3 - "$name" "$work/$name.html" "$work/$name.dom" "$work/$name.log" "$work/$name.json" "$work/$name.png" <<'PY' || status=1
import html.parser, json, os, re, struct, sys, zlib
name, page, dom_file, log_file, json_file, png_file = sys.argv[1:]
dom = open(dom_file, encoding="utf-8").read()
log = open(log_file, encoding="utf-8", errors="replace").read()
failures = []
def check(ok, what):
    print(f"browser-test: {name}: {'ok  ' if ok else 'FAIL'} {what}", file=sys.stderr)
    if not ok: failures.append(what)

body = re.search(r"<body([^>]*)>", dom)
attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1))) if body else {}
check(attrs.get("data-ready") == "1", "the page's script ran (body[data-ready])")
check("data-errors" not in attrs, f"no script errors ({attrs.get('data-errors', 'none')})")
console = [l for l in log.splitlines() if "CONSOLE" in l and (":ERROR:" in l or "Uncaught" in l)]
check(not console, f"no console errors ({len(console)}: {console[:2]})")

class Sections(html.parser.HTMLParser):
    """Counts lanes and arrows per <section class="run">."""
    def __init__(self):
        super().__init__(); self.sections = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs); cls = (a.get("class") or "").split()
        if tag == "section" and "run" in cls: self.sections.append({"host": 0, "link": 0, "arrows": 0, "messages": 0})
        elif not self.sections: return
        elif tag == "g" and "lane" in cls: self.sections[-1]["host" if "host" in cls else "link"] += 1
        elif tag == "line" and "arrow" in cls:
            self.sections[-1]["arrows"] += 1; self.sections[-1]["messages"] += int(a.get("data-n", "0"))
p = Sections(); p.feed(dom)
data = json.load(open(json_file))
if name == "run":
    methods = data["methods"]
    check(len(p.sections) == len(methods), f"{len(p.sections)} sections for {len(methods)} methods")
    for s, m in zip(p.sections, methods):
        check(s["host"] == len(m["per_host"]), f"{m['method']}: {s['host']} host lanes, {len(m['per_host'])} hosts")
        check(s["link"] == len(m["links"]), f"{m['method']}: {s['link']} link lanes, {len(m['links'])} busy links")
        check(s["arrows"] == m["messages"], f"{m['method']}: {s['arrows']} arrows, {m['messages']} messages")
else:
    rows = data if isinstance(data, list) else data.get("results", data.get("rows", []))
    check(len(p.sections) == 2, f"{len(p.sections)} sections for 2 configurations")
    for s in p.sections:
        check(s["host"] == 16, f"{s['host']} host lanes for 16 hosts")
        check(0 < s["arrows"] <= 1500 and s["messages"] >= s["arrows"], f"{s['arrows']} arrows (folded) standing for {s['messages']} messages")
    size = os.path.getsize(page)
    check(size < 6_000_000, f"the file is {size / 1e6:.2f} MB (under 6 MB)")

def png_pixels(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(raw):
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8]); chunk = raw[pos + 8:pos + 8 + length]
        if kind == b"IHDR": w, h, depth, color = struct.unpack(">IIBB", chunk[:10])
        if kind == b"IDAT": idat += chunk
        pos += 12 + length
    bpp = {2: 3, 6: 4}[color]; stride = w * bpp; data = zlib.decompress(idat); rows, prev = [], bytearray(stride)
    for y in range(h):
        f = data[y * (stride + 1)]; line = bytearray(data[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows
w, h, bpp, rows = png_pixels(png_file)
colors, inked = set(), 0
for r in rows[::4]:
    for x in range(0, w * bpp, bpp * 4):
        px = r[x:x + 3]; colors.add(px); inked += px != b"\xff\xff\xff"
total = len(rows[::4]) * len(range(0, w * bpp, bpp * 4))
check(len(colors) >= 8 and inked / total > 0.05, f"the screenshot is not blank ({len(colors)} colours, {100 * inked / total:.0f}% not white)")
sys.exit(1 if failures else 0)
PY
done

# Load time of the 1M projection's report against a blank page, interleaved (printed, not asserted).
printf '<!DOCTYPE html><html><body>blank</body></html>\n' > "$work/blank.html"
for round in 1 2 3; do
  for page in blank project; do
    start=$(date +%s.%N); browse --dump-dom "$work/$page.html" > /dev/null 2>&1; end=$(date +%s.%N)
    say "load round $round: $page.html $(python3 -c "print(f'{$end - $start:.2f}')") s (chromium start included)"
  done
done
if [ -n "$keep" ]; then cp "$work/run.png" "$keep"; say "screenshot kept: $keep"; fi
[ "$status" = 0 ] && say "all checks passed" || say "some checks failed"
exit "$status"
