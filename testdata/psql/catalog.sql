-- psql meta-commands over pg_catalog (run by TestPsqlCatalog with
-- ON_ERROR_STOP=1: any ERROR fails the test).
CREATE TABLE authors (id SERIAL PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100) UNIQUE, created_at TIMESTAMPTZ DEFAULT current_timestamp);
CREATE TABLE books (id BIGINT PRIMARY KEY, author_id INT NOT NULL, title VARCHAR(200) NOT NULL DEFAULT 'untitled', price NUMERIC(10,2) CHECK (price >= 0), isbn CHAR(13));
CREATE UNIQUE INDEX books_isbn ON books (isbn);
CREATE INDEX books_author_title ON books (author_id, title);
CREATE SEQUENCE order_seq START 100;
CREATE DATABASE otherdb;
\l
\dt
\d
\d books
\d+ books
\d authors
\d books_isbn
\d order_seq
\d authors_id_seq
\di
\ds
\dn
\du
\df
\dv
\dt+
\di+
\l+
\db
\df+
\dn+
\du+
\dS pg_am
\dT
\x
SELECT relname, relkind FROM pg_class WHERE relname = 'books';
\x
\c otherdb
\dt
\c defaultdb
\timing on
SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'books'::regclass AND attnum > 0;
\timing off
-- Tab completion (psql's tab-complete.c): tables, columns, indexes, databases, roles, settings.
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') AND (c.relname) LIKE 'bo%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'bo%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000;
SELECT attname FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c WHERE c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped AND attname LIKE 'ti%' AND (relname = 'books' OR '"' || relname || '"' = 'books') AND pg_catalog.pg_table_is_visible(c.oid) LIMIT 1000;
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('i', 'I') AND (c.relname) LIKE 'books%' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1 LIMIT 1000;
SELECT pg_catalog.quote_ident(datname) FROM pg_catalog.pg_database WHERE datname LIKE 'oth%' LIMIT 1000;
SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE 'ro%' LIMIT 1000;
SELECT name FROM pg_catalog.pg_settings WHERE context IN ('user', 'superuser') AND name LIKE 'search%' LIMIT 1000;
