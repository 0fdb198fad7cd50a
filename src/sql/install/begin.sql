/* depwatch--0.3.sql: built by the Makefile from src/sql (see README, "Development") */

\echo Use "CREATE EXTENSION depwatch CASCADE" to load this file. \quit
