
-- Wake this database's probe worker, which waits for the extension, when
-- CREATE EXTENSION commits (a statement trigger fires even on no rows).
DELETE FROM dependency WHERE false;
