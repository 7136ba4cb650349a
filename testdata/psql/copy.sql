-- psql's \copy (client-side files, COPY ... FROM STDIN / TO STDOUT on the
-- wire) and COPY inlined in a script. Run by TestPsqlCopy in a directory
-- holding people.csv and bad.txt; the expected output is PostgreSQL 15's.
CREATE TABLE people (id INT PRIMARY KEY, name TEXT, note TEXT DEFAULT 'n/a');
\copy people (id, name) from 'people.csv' with (format csv, header true)
\copy people to 'out.txt'
\copy (SELECT id, name FROM people ORDER BY id DESC) to 'out.csv' csv header
CREATE TABLE people2 (id INT PRIMARY KEY, name TEXT, note TEXT);
\copy people2 from 'out.txt'
SELECT * FROM people2 ORDER BY id;
\copy people from 'bad.txt'
SELECT count(*) FROM people;
COPY people FROM STDIN;
10	inline	\N
11	tab\there	x
\.
COPY people (id, name) FROM STDIN WITH (FORMAT csv);
12,"comma, inside"
13,
\.
SELECT id, name, note IS NULL AS null_note FROM people ORDER BY id;
COPY people TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *, HEADER);
COPY (SELECT name FROM people WHERE id > 10 ORDER BY id) TO STDOUT;
BEGIN;
COPY people FROM STDIN;
20	ok	x
21	dup
\.
SELECT 1;
ROLLBACK;
SELECT count(*) FROM people WHERE id >= 20;
COPY people FROM STDIN WITH (FORMAT csv, QUOTE 'ab');
