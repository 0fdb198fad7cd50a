/* depwatch--0.2--0.3.sql: built by the Makefile from src/update/0.2--0.3/*.sql, in name order */

\echo Use "ALTER EXTENSION depwatch UPDATE TO '0.3'" to load this file. \quit
