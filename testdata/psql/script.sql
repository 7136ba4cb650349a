-- A psql session: DDL, DML, queries, errors and transactions, checked
-- against testdata/psql/script.out.
CREATE TABLE books (id SERIAL PRIMARY KEY, title TEXT NOT NULL, year INT, price NUMERIC(6,2));
INSERT INTO books (title, year, price) VALUES
  ('Dune', 1965, 9.99), ('Neuromancer', 1984, 12.50), ('Hyperion', 1989, NULL);
SELECT id, title, year, price FROM books ORDER BY id;
SELECT year / 10 * 10 AS decade, count(*) FROM books GROUP BY 1 ORDER BY 1;
UPDATE books SET price = 15 WHERE title = 'Hyperion' RETURNING id, price;
SELECT title FROM books WHERE price > 10 ORDER BY price DESC;
BEGIN;
DELETE FROM books WHERE year < 1970;
SELECT count(*) FROM books;
ROLLBACK;
SELECT count(*) FROM books;
SELECT * FROM missing;
INSERT INTO books (id, title) VALUES (1, 'dup');
SELECT 'still' AS connected;
\x
SELECT * FROM books WHERE id = 2;
\x
DROP TABLE books;
