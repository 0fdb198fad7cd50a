#!/usr/bin/env bash
# status_page() as a customer's browser sees it (SPEC section 10; README
# "Status page").  A throwaway cluster gets capabilities with display names
# (one holding a <script> element and quotes), outages on past days, an
# outage going on now, maintenance to come and an incident with public and
# internal updates; psql writes the default page (the last 90 days) to
# tmp/it_status/status.html, and
#   a. the HTML names nothing outside itself: no src, href, url() other
#      than a fragment, @import, <link>, <script>, <img>, <iframe>;
#   b. headless Chromium, every connection sent through a proxy on loopback
#      that records what reaches it (loopback included: <-loopback>), loads
#      the page and dumps its DOM: no host reaches the proxy but those
#      Chromium itself calls on an empty page (its update, clock and account
#      services, which no flag turns all off); the same Chromium on a page
#      that fetches an image does reach it (the check can fail);
#   c. the DOM (python3's html.parser): 90 daily bars per capability, a bar
#      of the outage day with its downtime in the tooltip, the banner with
#      the state of every capability, the incident with its public updates
#      and not the internal one, no <script> element, and the display name's
#      "<script>" as text;
#   d. Chromium screenshots it (tmp/it_status/status.png, not blank).
# Each check prints "ok - ..." or "FAIL - ..."; the script exits non-zero if
# any failed.  Needs the package chromium (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_status
port=16940
proxy_port=16941
export PGOPTIONS='-c client_min_messages=warning'

proxy_pid=
cleanup() {
	local rc=$?
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
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
scripts/cluster.sh start "$dir" "$port" "depwatch.vantage = 'it_status'"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql -c "CREATE EXTENSION depwatch CASCADE"

# Days are counted back from today (UTC): 10 days ago core was down 1 h 30
# min (transfers and account opening out); 20 days ago bureau_a was down (account
# opening degraded); now the messaging platform is down (notifications
# out); core has maintenance tomorrow.
sql <<'EOF' >/dev/null
SET search_path = depwatch;
SET TimeZone = 'UTC';
SELECT add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00'),
	   add_dependency('bureau_a', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'),
	   add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'),
	   add_dependency('messaging', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT add_capability('transfer', ARRAY['core'], display_name => 'Transfers <script>alert(1)</script> "now"'),
	   add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b'], display_name => 'Account opening'),
	   add_capability('notifications', ARRAY['messaging'], display_name => 'Notifications');
SELECT record_outage('core', date_trunc('day', now()) - interval '10 days' + interval '9 hours',
					 date_trunc('day', now()) - interval '10 days' + interval '10 hours 30 minutes'),
	   record_outage('bureau_a', date_trunc('day', now()) - interval '20 days' + interval '9 hours',
					 date_trunc('day', now()) - interval '20 days' + interval '10 hours'),
	   record_outage('messaging', now() - interval '30 minutes');
SELECT add_maintenance('core', tstzrange(now() + interval '1 day', now() + interval '1 day 1 hour'));
SELECT open_incident('Transfers failing', date_trunc('day', now()) - interval '10 days' + interval '9 hours');
SELECT close_incident(1, date_trunc('day', now()) - interval '10 days' + interval '10 hours 30 minutes');
SELECT add_incident_update(1, 'investigating', 'Transfers fail; we are investigating. <script>alert(2)</script>',
						   date_trunc('day', now()) - interval '10 days' + interval '9 hours 10 minutes'),
	   add_incident_update(1, 'identified', 'INTERNAL-NOTE core database failover stuck',
						   date_trunc('day', now()) - interval '10 days' + interval '9 hours 20 minutes', false),
	   add_incident_update(1, 'resolved', 'Transfers work again.',
						   date_trunc('day', now()) - interval '10 days' + interval '10 hours 35 minutes');
EOF
outage_day=$(sql -c "SET TimeZone = 'UTC'; SELECT to_char(date_trunc('day', now()) - interval '10 days', 'YYYY-MM-DD')")

page=$dir/status.html
PGOPTIONS="$PGOPTIONS -c TimeZone=UTC" sql -o "$page" -c "SELECT depwatch.status_page()"
chmod -R a+rX "$dir"

# a. nothing named outside the page
if python3 - "$page" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding='utf-8').read()
bad = [m.group(0) for m in re.finditer(r'(?i)\b(src|href|action|srcset|poster|data)\s*=|url\(\s*(?!#)|@import|<(link|script|img|iframe|object|embed|audio|video)\b', html)]
if bad:
	print('external references: %s' % bad[:5])
	sys.exit(1)
EOF
then ok "the page names nothing outside itself (no src, href, url() but fragments, @import, link, script, img)"
else fail "the page names something outside itself"
fi

# b. load it in Chromium behind a recording proxy
proxy_log=$dir/proxy.log
: >"$proxy_log"
python3 - "$proxy_port" "$proxy_log" <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
while True:
	c, _ = s.accept()
	c.settimeout(2)
	try:
		first = c.recv(4096).split(b'\r\n', 1)[0]
	except OSError:
		first = b'(nothing)'
	with open(sys.argv[2], 'ab') as f:
		f.write(first + b'\n')
	c.close()
EOF
proxy_pid=$!
for _ in $(seq 50); do
	python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $proxy_port), 1)" 2>/dev/null && break
	sleep 0.1
done
: >"$proxy_log"		# the readiness probe above is not Chromium's

# hosts_of LOG: the hosts a proxy log's request lines ask for, sorted
hosts_of() {
	sed -E 's|^CONNECT ([^: ]+).*|\1|; s|^[A-Z]+ https?://([^/: ]+).*|\1|' "$1" | sort -u
}
# own_hosts: Chromium's own services (update, clock, account checks), which
# may call at any time; an empty page's run adds whatever else it calls
own_hosts() {
	printf '%s\n' accounts.google.com clients2.google.com update.googleapis.com redirector.gvt1.com
}

chromium=$(command -v chromium || command -v chromium-browser || true)
home=$(pwd)/$dir/chromium-home
mkdir -p "$home"
# browse URL [chromium options...]: run Chromium on URL, as the server's
# user when we are root (Chromium wants no root), through the proxy
browse() {
	local url=$1
	shift
	local as=()
	if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
		chown -R postgres "$home" "$dir"
		as=(runuser -u postgres --)
	fi
	"${as[@]}" env HOME="$home" timeout 120 "$chromium" --headless=new --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --no-first-run --hide-scrollbars --force-device-scale-factor=1 \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-default-apps --disable-domain-reliability --no-pings --disable-extensions \
		--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter,AutofillServerCommunication \
		--user-data-dir="$home/profile" \
		--proxy-server="http://127.0.0.1:$proxy_port" --proxy-bypass-list='<-loopback>' \
		"$@" "$url" 2>"$dir/chromium.log"
}

if [ -z "$chromium" ]; then
	fail "chromium is missing (run scripts/deps.sh)"
else
	# what Chromium itself calls, for an empty page
	empty=$dir/empty.html
	echo '<!DOCTYPE html><html><body><p>empty</p></body></html>' >"$empty"
	browse "file://$(pwd)/$empty" --dump-dom >/dev/null || true
	sleep 0.5
	hosts_of "$proxy_log" >"$dir/hosts.empty"
	: >"$proxy_log"

	dom=$dir/status.dom.html
	browse "file://$(pwd)/$page" --dump-dom >"$dom" || true
	sleep 0.5
	hosts_of "$proxy_log" >"$dir/hosts.page"
	extra=$(own_hosts | sort -u - "$dir/hosts.empty" | comm -13 - "$dir/hosts.page")
	if [ ! -s "$dom" ]; then
		fail "chromium dumped no DOM: $(tail -3 "$dir/chromium.log")"
	elif [ -n "$extra" ]; then
		fail "chromium fetched something for the page: $extra"
	else
		ok "chromium loaded the page and no host reached the proxy but Chromium's own ($(tr '\n' ' ' <"$dir/hosts.page"))"
	fi
	: >"$proxy_log"

	# the control: a page that fetches an image does reach the proxy
	control=$dir/control.html
	echo '<!DOCTYPE html><html><body><img src="http://example.invalid/fetch-me.png"/></body></html>' >"$control"
	browse "file://$(pwd)/$control" --dump-dom >/dev/null || true
	sleep 0.5
	if grep -q 'example.invalid' "$proxy_log"; then
		ok "the control page's fetch reaches the proxy (the check above can fail)"
	else
		fail "the control page's fetch did not reach the proxy: the no-fetch check proves nothing"
	fi

	# c. the DOM
	if python3 - "$dom" "$outage_day" <<'EOF'
import sys
from html.parser import HTMLParser

class Page(HTMLParser):
	"""The parts of the DOM under test, by walking its elements."""
	def __init__(self):
		super().__init__(convert_charrefs=True)
		self.stack = []			# (tag, attrs) of the open elements
		self.scripts = 0
		self.bars = {}			# capability -> [(state, tooltip)]
		self.banner_class = None
		self.banner_text = []
		self.banner_states = []
		self.names = []			# h3 text of the capability sections
		self.incidents = []		# [title, [update texts]]
		self.text = []

	def inside(self, tag, cls=None, attr=None):
		for t, a in reversed(self.stack):
			if t == tag and (cls is None or cls in (a.get('class') or '').split()) \
					and (attr is None or attr in a):
				return a
		return None

	def within(self, tag, cls=None, attr=None):
		return self.inside(tag, cls, attr) is not None

	def handle_starttag(self, tag, attrs):
		a = dict(attrs)
		if tag == 'script':
			self.scripts += 1
		if tag == 'section' and 'banner' in (a.get('class') or '').split():
			self.banner_class = a['class']
		if tag == 'li' and 'data-capability-state' in a:
			self.banner_states.append(a['data-capability-state'])
		if tag == 'rect' and 'bar' in (a.get('class') or '').split():
			sec = self.inside('section', attr='data-capability')
			self.bars.setdefault(sec['data-capability'], []).append([a.get('data-state'), ''])
		if tag == 'li' and 'incident' in (a.get('class') or '').split():
			self.incidents.append(['', []])
		if tag == 'li' and 'update' in (a.get('class') or '').split():
			self.incidents[-1][1].append('')
		if tag not in ('meta', 'br', 'hr', 'img', 'input', 'link'):	# HTML's void elements end themselves
			self.stack.append((tag, a))

	def handle_endtag(self, tag):
		while self.stack:
			t, _ = self.stack.pop()
			if t == tag:
				break

	def handle_data(self, data):
		self.text.append(data)
		if self.within('title') and self.within('rect'):
			sec = self.inside('section', attr='data-capability')
			self.bars[sec['data-capability']][-1][1] += data
		if self.within('section', cls='banner'):
			self.banner_text.append(data)
		if self.within('h3') and self.within('section', attr='data-capability'):
			self.names.append(data)
		if self.within('li', cls='incident'):
			if self.within('li', cls='update'):
				self.incidents[-1][1][-1] += data
			elif self.within('h3'):
				self.incidents[-1][0] += data

p = Page()
p.feed(open(sys.argv[1], encoding='utf-8').read())
day = sys.argv[2]
failed = []
def check(cond, what):
	print(('ok - ' if cond else 'FAIL - ') + what)
	if not cond:
		failed.append(what)

check(set(p.bars) == {'transfer', 'account_opening', 'notifications'}
	  and all(len(b) == 90 for b in p.bars.values()),
	  'the DOM has a row of 90 daily bars per capability: %s' % {k: len(v) for k, v in p.bars.items()})
out = [b for b in p.bars.get('transfer', []) if b[1].startswith(day)]
check(out and out[0][0] == 'outage' and 'down 1 h 30 min' in out[0][1],
	  'the outage day\'s bar of transfers is an outage with its downtime in the tooltip: %s' % out)
check(p.banner_class == 'banner outage' and 'Some services are down' in ''.join(p.banner_text)
	  and sorted(p.banner_states) == ['operational', 'operational', 'outage'],
	  'the banner says some services are down, with each capability\'s state: %s %s' % (p.banner_class, p.banner_states))
check(len(p.incidents) == 1 and p.incidents[0][0] == 'Transfers failing'
	  and len(p.incidents[0][1]) == 2 and 'Transfers work again.' in p.incidents[0][1][0]
	  and 'we are investigating. <script>alert(2)</script>' in p.incidents[0][1][1],
	  'the incident is shown with its two public updates, newest first: %s' % p.incidents)
check('INTERNAL-NOTE' not in ''.join(p.text), 'the internal update is not shown')
check(p.scripts == 0, 'the DOM has no <script> element')
check('Transfers <script>alert(1)</script> "now"' in p.names,
	  'the display name\'s "<script>" stays text: %s' % p.names)
check(not any(d in ''.join(p.text) for d in ('bureau_a', 'bureau_b', 'messaging')),
	  'no dependency name appears')
sys.exit(1 if failed else 0)
EOF
	then :; else failures=$((failures + 1)); fi

	# d. a screenshot
	png=$dir/status.png
	rm -f "$png"
	browse "file://$(pwd)/$page" --window-size=1000,1800 --screenshot="$(pwd)/$png" >/dev/null || true
	if [ -s "$png" ] && [ "$(stat -c %s "$png")" -gt 10000 ]; then
		ok "chromium screenshot $png ($(stat -c %s "$png") bytes)"
	else
		fail "chromium made no screenshot: $(tail -3 "$dir/chromium.log")"
	fi
	extra=$(hosts_of "$proxy_log" | grep -vx 'example.invalid' | comm -13 <(own_hosts | sort -u - "$dir/hosts.empty") - || true)
	if [ -n "$extra" ]; then
		fail "chromium fetched something while taking the screenshot: $extra"
	else
		ok "nothing reached the proxy while taking the screenshot"
	fi
fi

if [ "$failures" -eq 0 ]; then
	echo "status_page: all passed"
else
	echo "status_page: $failures failed"
	exit 1
fi
