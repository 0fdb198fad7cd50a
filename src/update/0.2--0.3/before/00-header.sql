/* depwatch--0.2--0.3.sql: built by the Makefile: the steps in src/update/0.2--0.3/before, the tables new in 0.3, every source file of src/sql (functions, views, triggers, privileges), then the steps in src/update/0.2--0.3/after */

\echo Use "ALTER EXTENSION depwatch UPDATE TO '0.3'" to load this file. \quit
