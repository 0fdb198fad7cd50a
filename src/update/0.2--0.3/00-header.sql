/* depwatch--0.2--0.3.sql: built by the Makefile from the pieces in src/update/0.2--0.3/, in name order */

\echo Use "ALTER EXTENSION depwatch UPDATE TO '0.3'" to load this file. \quit
