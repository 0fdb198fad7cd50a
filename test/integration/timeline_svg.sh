#!/usr/bin/env bash
# timeline_svg() as a person sees it (SPEC section 2; README "Availability").
# A throwaway cluster gets hand-made dependencies, capabilities, outages and
# maintenance on fixed past dates; the picture of that day is written to
# tmp/it_svg/timeline.svg and
#   a. is a well-formed XML document whose root is an SVG element with a
#      width, height and viewBox, with one row per target and the heading
#      in the session time zone (xmllint);
#   b. renders in headless Chromium to a PNG that is not blank, with red
#      and green pixels, and whose pixels at the middle of the widest down
#      bar and the widest up bar have the down and up colours (the PNG is
#      decoded with python3's standard library: zlib and struct).
# Each check prints "ok - ..." or "FAIL - ..."; the script exits non-zero if
# any failed.  Needs the packages chromium and libxml2-utils (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_svg
port=15471
export PGOPTIONS='-c client_min_messages=warning'

cleanup() {
	local rc=$?
	scripts/cluster.sh stop "$dir" "$port"
	exit $rc
}
trap cleanup EXIT

failures=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank "$@"; }

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.vantage = 'it_svg'"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql -c "CREATE EXTENSION depwatch CASCADE"

# 2024-03-10 (UTC): the bureaus fail one after the other (account opening
# degraded, then down while both are), messaging is slow, core goes down,
# core has planned work in the evening.
sql <<'EOF' >/dev/null
SET search_path = depwatch;
SELECT add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00'), add_dependency('bureau_a', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'),
	   add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'), add_dependency('messaging', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b']),
	   add_capability('transfer', ARRAY['core', 'messaging']);
SELECT record_outage('bureau_a', '2024-03-10 06:00+00', '2024-03-10 09:00+00'),
	   record_outage('bureau_b', '2024-03-10 07:00+00', '2024-03-10 08:00+00'),
	   record_outage('messaging', '2024-03-10 12:00+00', '2024-03-10 14:00+00', 'degraded'),
	   record_outage('core', '2024-03-10 15:00+00', '2024-03-10 16:30+00');
SELECT add_maintenance('core', '[2024-03-10 20:00+00, 2024-03-10 21:00+00)');
EOF

svg=$dir/timeline.svg
png=$dir/timeline.png
PGOPTIONS="$PGOPTIONS -c TimeZone=Europe/Berlin" \
	sql -o "$svg" -c "SELECT depwatch.timeline_svg('[2024-03-10 00:00+00, 2024-03-11 00:00+00)')"

# a. well-formed SVG, one row per target, heading in the session time zone
xp() { xmllint --xpath "$1" "$svg" 2>/dev/null || true; }
if ! command -v xmllint >/dev/null; then
	fail "xmllint is missing (package libxml2-utils: run scripts/deps.sh)"
elif xmllint --noout "$svg"; then
	ok "the picture is well-formed XML ($(wc -c <"$svg") bytes)"
	root="$(xp 'concat(namespace-uri(/*), " ", local-name(/*), " ", /*/@version)')"
	[ "$root" = "http://www.w3.org/2000/svg svg 1.1" ] && ok "its root is an SVG 1.1 element" ||
		fail "its root is '$root', not an SVG 1.1 svg element"
	width="$(xp 'string(/*/@width)')" height="$(xp 'string(/*/@height)')"
	[ "$(xp 'string(/*/@viewBox)')" = "0 0 $width $height" ] && [ -n "$width" ] &&
		ok "width $width, height $height and a matching viewBox" ||
		fail "width '$width', height '$height', viewBox '$(xp 'string(/*/@viewBox)')'"
	rows="$(xp 'count(//*[local-name()="g"][starts-with(@class, "row ")])')"
	[ "$rows" = 6 ] && ok "six rows: four dependencies, two capabilities" || fail "$rows rows, not 6"
	heading="$(xp 'string(/*/*[local-name()="title"])')"
	[[ "$heading" == *"2024-03-10 01:00:00 CET to 2024-03-11 01:00:00 CET (time zone Europe/Berlin)"* ]] &&
		ok "the heading is in the session time zone: $heading" || fail "heading: '$heading'"
else
	fail "xmllint finds $svg malformed"
fi

# b. render it and look at the pixels
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	fail "chromium is missing (run scripts/deps.sh)"
else
	home=$(pwd)/$dir/chromium-home
	mkdir -p "$home"
	shot() {	# shot [runuser prefix...]: screenshot the SVG into $png
		"$@" env HOME="$home" timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
			--disable-dev-shm-usage --no-first-run --hide-scrollbars --force-device-scale-factor=1 \
			--window-size="${width:-960},${height:-400}" --screenshot="$(pwd)/$png" \
			"file://$(pwd)/$svg" >"$dir/chromium.log" 2>&1
	}
	rm -f "$png"
	if ! shot || [ ! -s "$png" ]; then
		# some set-ups refuse to run it as root: try as the server's user
		if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
			chown -R postgres "$home" "$dir"
			shot runuser -u postgres -- || true
		fi
	fi
	if [ ! -s "$png" ]; then
		fail "chromium made no screenshot: $(tail -3 "$dir/chromium.log")"
	else
		ok "chromium rendered $png"
		python3 - "$png" "$svg" <<'EOF' || failures=$((failures + 1))
import struct, sys, zlib
import xml.etree.ElementTree as ET

def decode_png(path):
	"""(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
	data = open(path, 'rb').read()
	if data[:8] != b'\x89PNG\r\n\x1a\n':
		raise ValueError('not a PNG')
	pos, idat, ihdr = 8, b'', None
	while pos < len(data):
		length, kind = struct.unpack('>I4s', data[pos:pos + 8])
		body = data[pos + 8:pos + 8 + length]
		pos += 12 + length
		if kind == b'IHDR':
			ihdr = struct.unpack('>IIBBBBB', body)
		elif kind == b'IDAT':
			idat += body
		elif kind == b'IEND':
			break
	width, height, depth, colour, _, _, interlace = ihdr
	if depth != 8 or colour not in (2, 6) or interlace != 0:
		raise ValueError('unsupported PNG: depth %d, colour type %d, interlace %d' % (depth, colour, interlace))
	bpp = 3 if colour == 2 else 4
	raw = zlib.decompress(idat)
	stride = width * bpp
	rows, prev = [], bytearray(stride)
	for y in range(height):
		filt = raw[y * (stride + 1)]
		line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
		for i in range(stride):
			a = line[i - bpp] if i >= bpp else 0
			b = prev[i]
			c = prev[i - bpp] if i >= bpp else 0
			if filt == 1:
				line[i] = (line[i] + a) & 0xff
			elif filt == 2:
				line[i] = (line[i] + b) & 0xff
			elif filt == 3:
				line[i] = (line[i] + (a + b) // 2) & 0xff
			elif filt == 4:
				p = a + b - c
				pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
				line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
			elif filt != 0:
				raise ValueError('bad filter type %d' % filt)
		rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
		prev = line
	return width, height, rows

def near(pixel, colour, tolerance=24):
	return all(abs(p - c) <= tolerance for p, c in zip(pixel, colour))

def hex_rgb(h):
	return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))

failures = 0
def check(good, what):
	global failures
	print(('ok - ' if good else 'FAIL - ') + what)
	failures += 0 if good else 1

width, height, rows = decode_png(sys.argv[1])
pixels = [p for row in rows for p in row]
distinct = len(set(pixels))
coloured = sum(1 for p in pixels if p != (255, 255, 255))
check(distinct > 16 and coloured > len(pixels) // 20,
	  'the screenshot (%dx%d) is not blank: %d colours, %d%% not white'
	  % (width, height, distinct, 100 * coloured // len(pixels)))
red = sum(1 for (r, g, b) in pixels if r > 180 and g < 90 and b < 90)
green = sum(1 for (r, g, b) in pixels if g > 120 and r < 110 and b < 120)
check(red > 200, 'it shows red (down): %d pixels' % red)
check(green > 2000, 'it shows green (up): %d pixels' % green)

# the widest bar of each kind, and the pixel at its middle
ns = {'s': 'http://www.w3.org/2000/svg'}
bars = ET.parse(sys.argv[2]).getroot().findall('.//s:g/s:rect', ns)
for kind in ('down', 'up'):
	mine = [r for r in bars if r.get('class') == 'run ' + kind]
	if not mine:
		check(False, 'the picture has a %s bar' % kind)
		continue
	bar = max(mine, key=lambda r: float(r.get('width')))
	x = int(float(bar.get('x')) + float(bar.get('width')) / 2)
	y = int(float(bar.get('y')) + float(bar.get('height')) / 2)
	want = hex_rgb(bar.get('fill'))
	got = rows[y][x] if y < height and x < width else None
	check(got is not None and near(got, want),
		  'the middle of the widest %s bar (%d, %d) is %s, as drawn: %s'
		  % (kind, x, y, bar.get('fill'), got))
sys.exit(1 if failures else 0)
EOF
	fi
fi

if [ "$failures" -eq 0 ]; then
	echo "ok - timeline_svg: all checks passed"
else
	echo "FAIL - timeline_svg: $failures check(s) failed"
	exit 1
fi
