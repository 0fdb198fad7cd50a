-- Privileges.  Tables are written only through the functions of the API;
-- readers never see targets or options unmasked.  PUBLIC gets nothing; the
-- helpers in depwatch_internal are granted only where a function that runs
-- with its caller's rights (the ledger reports) or a view calls them.
-- Run at install and by every update: each statement may run again.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA depwatch, depwatch_internal FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA depwatch, depwatch_internal FROM PUBLIC;
GRANT USAGE ON SCHEMA depwatch, depwatch_internal TO depwatch_reader;

-- Readers: the views, the tables without secrets, the reports.
GRANT SELECT ON worker_status, dependencies, requirements, outages, status, availability_daily,
				capability, sample, outage, maintenance, incident, incident_dependency, audit_log,
				ledger_binding, fee_policy, fee_schedule,
				vantage_sample, vantage_outage, vantage_gap, vantage_status,
				alert_event, alert_delivery, alert_report_sent, alerts, alert_routes, scenario TO depwatch_reader;
-- the status page: the updates on incidents (public and internal), and the page
GRANT SELECT ON incident_update, incident_updates TO depwatch_reader;
GRANT EXECUTE ON FUNCTION status_page(tstzrange, text[], text, boolean) TO depwatch_reader;
-- the views for BI tools
GRANT SELECT ON capability_outages_recent, incidents, last_probe TO depwatch_reader;
GRANT SELECT (id, name, kind, probe, every, timeout, fail_after, recover_after, degraded_after,
			  site, vendor, enabled, created_at, probe_set_by_superuser, tracked_since)
	ON dependency TO depwatch_reader;
GRANT EXECUTE ON FUNCTION
	availability(tstzrange, text),
	capability_outages(text, tstzrange),
	classify_incident(bigint, text),
	consensus_outages(tstzrange),
	consensus_timeline(tstzrange),
	current_status(),
	deposit_outflow(bigint, interval, interval, text),
	deposit_outflow_summary(bigint, interval, interval, text),
	derive_outages(text, tstzrange, int, int),
	fee_waiver(bigint, text),
	fee_waiver_cost(tstzrange, text),
	fee_waiver_summary(bigint, text),
	impact(bigint),
	incident_report(bigint),
	incident_timeline(bigint),
	metrics(),
	parse_requirements(text[]),
	redundancy_risks(),
	state_timeline(tstzrange, text[]),
	timeline_svg(tstzrange, text[]),
	vantage_availability(tstzrange),
	verify_audit(),
	tolerance_breaches(tstzrange),
	burn_rate(text, timestamptz),
	concentration(tstzrange),
	scenario(text[], timestamptz, interval, int),
	resilience_report(tstzrange) TO depwatch_reader;
-- what the views (masks, worker status) and the reports that run with the
-- reader's rights (ledger, classification, consensus) call
GRANT EXECUTE ON FUNCTION
	depwatch_internal._mask_options(jsonb),
	depwatch_internal._mask_probe_target(text, text),
	depwatch_internal._mask_route_options(jsonb),
	depwatch_internal._mask_route_target(text, text),
	depwatch_internal._no_worker_reason(),
	depwatch_internal._worker_status(),
	depwatch_internal._vantage(),
	depwatch_internal._vantage_windows(timestamptz, timestamptz),
	depwatch_internal._probed(text),
	depwatch_internal._silent_until(timestamptz, interval),
	depwatch_internal._breached(interval, interval),
	depwatch_internal._breached_at(timestamptz, interval, interval),
	depwatch_internal._check_period(tstzrange, text),
	depwatch_internal._ledger(text, boolean),
	depwatch_internal._ledger_contract(),
	depwatch_internal._check_ledger_relation(text, regclass),
	depwatch_internal._pin_relation(regclass),
	depwatch_internal._incident(bigint),
	depwatch_internal._incident_row(bigint),
	depwatch_internal._lookup_failed(text, text, text, text),
	depwatch_internal._incident_dependencies(depwatch.incident),
	depwatch_internal._incident_windows(depwatch.incident),
	depwatch_internal._in_windows(regclass, text, text, boolean),
	depwatch_internal._in_windows(regclass, text, text, boolean, text),
	depwatch_internal._impact_query(regclass, regclass),
	depwatch_internal._incident_customers_query(regclass, regclass),
	depwatch_internal._fee_policy(text),
	depwatch_internal._fee_waiver_query(regclass, regclass),
	depwatch_internal._outflow_buckets(depwatch.incident, interval, interval, text),
	depwatch_internal._outflow_query(regclass, regclass, regclass),
	depwatch_internal._incident_measures(depwatch.incident),
	depwatch_internal._combined_facts(jsonb[]),
	depwatch_internal._combined_measures(jsonb[]),
	depwatch_internal._dora_criteria(jsonb, jsonb),
	depwatch_internal._dora_major(jsonb, jsonb),
	depwatch_internal._kr_fss_criteria(jsonb, jsonb),
	depwatch_internal._reporting_deadlines(jsonb, boolean, boolean, timestamptz),
	depwatch_internal._assumed_aware(depwatch.incident),
	depwatch_internal._check_scenario(text[], interval),
	depwatch_internal._check_starts(timestamptz),
	depwatch_internal._scenario_dependencies(text[]),
	depwatch_internal._scenario_lost(text[]),
	depwatch_internal._scenario_outcomes(text[], timestamptz, interval),
	depwatch_internal._scenario_baseline(timestamptz, interval, int),
	depwatch_internal._scenario_baseline_rows(timestamptz, interval, int) TO depwatch_reader;

-- redress (67-redress.sql): the policies, the reports and what they call
GRANT SELECT ON redress_policy TO depwatch_reader;
GRANT EXECUTE ON FUNCTION
	redress(bigint, text),
	redress_summary(bigint, text),
	depwatch_internal._redress_policy(text),
	depwatch_internal._redress_pay(jsonb, numeric),
	depwatch_internal._redress_query(regclass, text) TO depwatch_reader;

-- Operators: what happens (samples, outages, maintenance, incidents).
GRANT EXECUTE ON FUNCTION
	add_maintenance(text, tstzrange, text),
	close_incident(bigint, timestamptz, text),
	discard_samples(text, tstzrange, text),
	end_outage(text, timestamptz, text),
	open_incident(text, timestamptz, text[]),
	record_outage(text, timestamptz, timestamptz, text, text, timestamptz),
	report_sample(text, boolean, interval, timestamptz, text, text),
	set_incident_facts(bigint, jsonb),
	mark_report_sent(bigint, text, timestamptz, text) TO depwatch_operator;
-- the status page: what customers are told during an incident
GRANT EXECUTE ON FUNCTION add_incident_update(bigint, text, text, timestamptz, boolean) TO depwatch_operator;

-- Admins: what is watched, and how it is priced.
GRANT SELECT ON dependency, probe_state, alert_route TO depwatch_admin;
GRANT EXECUTE ON FUNCTION
	add_capability(text, text[], numeric, interval, text),
	add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, timestamptz),
	add_fee_policy(text, text[], text[], interval, numeric),
	alter_capability(text, text[], numeric, interval, text),
	alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean, timestamptz),
	bind_ledger(regclass, regclass, regclass, regclass),
	drop_capability(text),
	drop_dependency(text),
	maintain_sample_partitions(int, interval),
	set_fee_schedule(text, text, numeric, tstzrange),
	add_alert_route(text, text, text, text, text[], text[], text, jsonb),
	alter_alert_route(text, text, text, text, text[], text[], text, jsonb),
	drop_alert_route(text),
	test_alert_route(text),
	save_scenario(text, text[], interval) TO depwatch_admin;
GRANT EXECUTE ON FUNCTION add_redress_policy(text, text[], text, jsonb, numeric) TO depwatch_admin;
