-- Server settings read from C: sample retention, this node's vantage.

CREATE OR REPLACE FUNCTION depwatch_internal._sample_retention() RETURNS interval
	AS 'MODULE_PATHNAME', 'dw_sample_retention'
	LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION depwatch_internal._vantage() RETURNS text
	AS 'MODULE_PATHNAME', 'dw_vantage_name'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION depwatch_internal._vantage() IS 'This node''s vantage name';
