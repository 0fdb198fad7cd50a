#!/usr/bin/env bash
# The owner of a bound ledger table tries to borrow the rights of whoever
# runs a ledger report (issue 16, item 1; SPEC section 6).  mallory (no
# superuser) owns bank.transfers, which a superuser bound.  While a report
# runs, mallory holds the table locked, renames it, puts a view of theirs
# under its name whose status column calls mallory.evil() (which notes who
# ran it and tries ALTER ROLE mallory SUPERUSER), and commits:
#   a. a reader (analyst, in depwatch_reader, with SELECT on the ledger)
#      runs fee_waiver_cost during the swap: evil() never runs, mallory is
#      no superuser (on 0.2 the report planned the name again after its
#      check, as the extension's owner, and evil() ran as a superuser);
#   b. the same with a superuser running impact: evil() never runs;
#   c. a superuser does not run a report over a relation in a schema a
#      non-superuser owns (its owner could rename the schema mid-report);
#      a reader still can, with its own rights.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_trust_ledger
port=15682

cleanup() {
	[ -n "${bg:-}" ] && kill "$bg" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
as() { local who=$1; shift; psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$who" -d bank -c "$1"; }

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port"
DB=postgres sql "CREATE DATABASE bank"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank <<'SQL'
CREATE ROLE mallory LOGIN;
CREATE ROLE analyst LOGIN IN ROLE depwatch_reader;
CREATE SCHEMA bank;
GRANT USAGE, CREATE ON SCHEMA bank TO mallory;
GRANT USAGE ON SCHEMA bank TO analyst;
CREATE SCHEMA mallory AUTHORIZATION mallory;
SELECT depwatch.add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_capability('simple_transfer', ARRAY['msg']);
SELECT depwatch.record_outage('msg', '2026-03-01 09:00+00', '2026-03-01 10:00+00');
SELECT depwatch.open_incident('fire', '2026-03-01 09:00+00', ARRAY['msg']);
SELECT depwatch.close_incident(1, '2026-03-01 10:00+00');
SELECT depwatch.set_fee_schedule('transfer_fee', NULL, 500, tstzrange('2026-01-01', NULL));
SQL
as mallory "CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text,
		occurred_at timestamptz, amount numeric, fee numeric, fee_type text, capability text, status text,
		external boolean);
	INSERT INTO bank.transfers VALUES (1, 1, 'c1', '2026-03-01 09:30+00', -10, 0, 'transfer_fee',
		'simple_transfer', 'posted', false);
	GRANT SELECT ON bank.transfers TO analyst;
	CREATE TABLE mallory.pwned (by_whom text, superuser_granted boolean);
	GRANT USAGE ON SCHEMA mallory TO PUBLIC;
	GRANT INSERT ON mallory.pwned TO PUBLIC;
	CREATE FUNCTION mallory.evil() RETURNS text LANGUAGE plpgsql AS \$\$
	DECLARE
		granted boolean := true;
	BEGIN
		BEGIN
			EXECUTE 'ALTER ROLE mallory SUPERUSER';
		EXCEPTION WHEN insufficient_privilege THEN
			granted := false;
		END;
		INSERT INTO mallory.pwned VALUES (current_user, granted);
		RETURN 'posted';
	END
	\$\$;
	GRANT EXECUTE ON FUNCTION mallory.evil() TO PUBLIC;"
sql "SELECT depwatch.bind_ledger('bank.transfers')" >/dev/null

# the trap is real: reading the view runs evil() as the reader
as mallory "CREATE VIEW mallory.probe AS SELECT mallory.evil() AS status; GRANT SELECT ON mallory.probe TO analyst"
as analyst "SELECT * FROM mallory.probe" >/dev/null
[ "$(sql "SELECT string_agg(by_whom, ',') FROM mallory.pwned")" = analyst ] || fail "evil() did not note its caller"
sql "TRUNCATE mallory.pwned; DROP VIEW mallory.probe"
ok "reading mallory's view runs evil() with the reader's rights"

# swap RUNNER REPORT: mallory locks bank.transfers, waits until RUNNER's
# REPORT waits for that lock, swaps a view in and commits; prints the
# report's output (its error, if any)
swap() {
	local runner=$1 report=$2 out="$dir/report.out"
	psql -X -A -t -q -h 127.0.0.1 -p "$port" -U mallory -d bank >"$dir/swap.out" 2>&1 <<SQL &
BEGIN;
LOCK bank.transfers IN ACCESS EXCLUSIVE MODE;
-- the report now waits for the lock (on 0.2: when it plans the name it
-- checked; now: when it pins the relation it is about to check)
DO \$\$
BEGIN
	WHILE NOT EXISTS (SELECT FROM pg_locks WHERE relation = 'bank.transfers'::regclass AND NOT granted) LOOP
		IF clock_timestamp() > now() + interval '60 s' THEN
			RAISE EXCEPTION 'no report waited for the lock';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
\$\$;
ALTER TABLE bank.transfers RENAME TO transfers_kept;
CREATE VIEW bank.transfers AS
	SELECT txn_id, account_id, customer_id, occurred_at, amount, fee, fee_type, capability,
		   mallory.evil() AS status, external
	FROM bank.transfers_kept;
GRANT SELECT ON bank.transfers TO analyst;
COMMIT;
SQL
	bg=$!
	# the report starts once mallory holds the lock
	wait_for 30 "SELECT count(*) FROM pg_locks WHERE relation = 'bank.transfers'::regclass
		AND mode = 'AccessExclusiveLock' AND granted" 1
	psql -X -A -t -q -h 127.0.0.1 -p "$port" -U "$runner" -d bank -c "$report" >"$out" 2>&1 || true
	wait "$bg"; bg=
	grep -q ERROR "$dir/swap.out" && { cat "$dir/swap.out"; fail "mallory's swap failed"; }
	cat "$out"
	# undo: the table back under its name
	as mallory "DROP VIEW bank.transfers; ALTER TABLE bank.transfers_kept RENAME TO transfers"
}

# a. a reader runs a report during the swap
got=$(swap analyst "SELECT * FROM depwatch.fee_waiver_cost('[2026-03-01, 2026-03-02)')")
[ "$(sql "SELECT count(*) FROM mallory.pwned")" = 0 ] || fail "evil() ran inside the reader's report: $(sql "SELECT * FROM mallory.pwned")"
[ "$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'")" = f ] || fail "mallory became a superuser"
case $got in *"was replaced while a report started to read it"*) ;; *) fail "the reader's report gave: $got" ;; esac
ok "a. a reader's fee_waiver_cost during the swap: refused; evil() never ran, mallory is no superuser"

# b. a superuser runs a report during the swap
got=$(swap postgres "SELECT * FROM depwatch.impact(1)")
[ "$(sql "SELECT count(*) FROM mallory.pwned")" = 0 ] || fail "evil() ran inside the superuser's report: $(sql "SELECT * FROM mallory.pwned")"
[ "$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'")" = f ] || fail "mallory became a superuser"
case $got in *"was replaced while a report started to read it"*) ;; *) fail "the superuser's report gave: $got" ;; esac
ok "b. a superuser's impact during the swap: refused; evil() never ran, mallory is no superuser"

# the reports work on the table again, for both
[ "$(as analyst "SELECT waived_count FROM depwatch.fee_waiver_cost('[2026-03-01, 2026-03-02)')")" = 1 ] ||
	fail "the reader's report does not work after the swap was undone"
[ "$(sql "SELECT attempted FROM depwatch.impact(1)")" = 1 ] || fail "the superuser's report does not work after the swap was undone"
ok "after the swap is undone, both run the reports again"

# c. a ledger in a schema mallory owns
as mallory "CREATE TABLE mallory.transfers AS SELECT * FROM bank.transfers; GRANT SELECT ON mallory.transfers TO analyst"
sql "SELECT depwatch.bind_ledger('mallory.transfers')" >/dev/null
got=$(psql -X -A -t -q -h 127.0.0.1 -p "$port" -U postgres -d bank -c "SELECT * FROM depwatch.impact(1)" 2>&1 || true)
case $got in *"a superuser does not run ledger reports over mallory.transfers: its schema belongs to mallory"*) ;;
	*) fail "a superuser's report over mallory's schema gave: $got" ;; esac
[ "$(as analyst "SELECT attempted FROM depwatch.impact(1)")" = 1 ] || fail "the reader cannot run the report over mallory's schema"
[ "$(sql "SELECT count(*) FROM mallory.pwned")" = 0 ] || fail "evil() ran"
ok "c. a superuser's report over a schema mallory owns is refused; a reader's runs with the reader's rights"
echo "trust_ledger: all passed"
