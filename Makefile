# depwatch: PGXS build, plus the two commands of README's quick start.
#
#   make demo   install what is missing, build, install, start a throwaway
#               cluster under ./tmp and run the demo
#   make test   the same set-up, then every test; ends with "N passed, N failed"

EXTENSION = depwatch
MODULE_big = depwatch
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
# The SQL of the release in the making is built from source files by
# concern (README, "Development"): src/sql/tables/ (tables, run once at
# install), src/sql/*.sql (functions, views, triggers, privileges: each may
# run again, and every update runs them all).  An update is its structural
# steps before them and its data steps after them, in src/update/FROM--TO/.
# Released scripts are frozen files.
SQL_TABLES = $(sort $(wildcard src/sql/tables/*.sql))
SQL_CODE = $(sort $(wildcard src/sql/*.sql))
# the tables that 0.3 adds to 0.2's, and the name rule their CHECKs call
SQL_TABLES_NEW_IN_0.3 = src/sql/tables/05-name-rule.sql src/sql/tables/06-display-name-rule.sql \
	src/sql/tables/70-alerts.sql src/sql/tables/75-scenarios.sql src/sql/tables/76-redress.sql \
	src/sql/tables/80-status-page.sql
DATA_built = depwatch--0.3.sql depwatch--0.2--0.3.sql
DATA = $(filter-out $(DATA_built),$(wildcard depwatch--*.sql))
PGFILEDESC = "depwatch - outages of the services a bank depends on"

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
# pg_regress runs on a throwaway server with depwatch preloaded; everything
# it writes goes under tmp/regress, the one place the test user may write.
# Test servers use ports below the kernel's ephemeral range (32768-60999),
# where no outgoing connection can take them first.
REGRESS_OPTS = --temp-instance=tmp/regress/instance --temp-config=test/regress.conf \
	--outputdir=tmp/regress --port=15400

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc -I$(shell $(PG_CONFIG) --includedir)
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wmissing-prototypes -Werror
SHLIB_LINK = -lpq -lcurl

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
# Before postgresql-server-dev is installed only the set-up targets work.
all install installcheck:
	@echo "PostgreSQL's server headers are missing: run 'make demo' or 'make test' (as root) first." >&2; exit 1
endif

depwatch--0.3.sql: src/sql/install/begin.sql $(SQL_TABLES) $(SQL_CODE) src/sql/install/end.sql
	cat $^ > $@

depwatch--0.2--0.3.sql: $(sort $(wildcard src/update/0.2--0.3/before/*.sql)) $(SQL_TABLES_NEW_IN_0.3) \
		$(SQL_CODE) $(sort $(wildcard src/update/0.2--0.3/after/*.sql))
	cat $^ > $@

# PGXS does not track headers: rebuild every object when any header changes
# (the structs in them are shared between files).
$(OBJS): $(wildcard src/*.h)

.PHONY: deps demo test bench load valgrind fuzz

deps:
	@scripts/deps.sh

demo: deps
	$(MAKE) all
	$(MAKE) install
	@scripts/demo.sh

test: deps
	$(MAKE) all
	$(MAKE) install
	@scripts/test.sh

# make bench: the availability analytics against plain SQL (about 15
# minutes), the incident economics against plain SQL on a 10M-row ledger
# (about 12 minutes), the same reports over a postgres_fdw ledger against a
# local copy (about 4 minutes), the probe worker's benchmark (about 25
# minutes), alert delivery (about 2 minutes), then the scenario sweep
# against plain SQL on a 10M-row ledger (about 5 minutes).
bench: deps
	$(MAKE) all
	$(MAKE) install
	@bench/availability.sh
	@bench/economics.sh
	@bench/ledger_fdw.sh
	@bench/run.sh
	@bench/alerts.sh
	@bench/scenario.sh

# make fuzz: libFuzzer on the parsers and the outage state machine,
# FUZZ_SECONDS (60) per target; prints executions and crashes per target.
# make test replays the cases found (test/fuzz/corpus/) without clang.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# make load: pgbench on a ledger at full speed while the worker probes 500
# dependencies, 10 minutes (LOAD_DURATION=seconds), then alternating
# windows with and without probing; writes bench/load_results.md.
LOAD_DURATION ?= 600
load: deps
	$(MAKE) all
	$(MAKE) install
	@bench/load.sh $(LOAD_DURATION)

# make valgrind: a representative set of the tests with the server under
# Valgrind's memcheck (about 30 minutes); fails on any report from
# depwatch's code.  See scripts/valgrind.sh.
valgrind: deps
	$(MAKE) all
	$(MAKE) install
	@scripts/valgrind.sh
