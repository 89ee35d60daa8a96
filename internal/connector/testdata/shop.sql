-- The schema and rows of testdata/shop.yaml, in SQL that PostgreSQL, MariaDB
-- and SQLite all accept. ${p} prefixes every table (MariaDB tests share one
-- database) and ${ticket_check} lets a test add a constraint. Statements end
-- with ";" at the end of a line.
CREATE TABLE ${p}customers (
  id INTEGER NOT NULL PRIMARY KEY,
  email VARCHAR(255) NOT NULL,
  full_name VARCHAR(200),
  phone VARCHAR(40),
  country CHAR(2)
);
CREATE TABLE ${p}addresses (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  street VARCHAR(200),
  city VARCHAR(100),
  postcode VARCHAR(20),
  FOREIGN KEY (customer_id) REFERENCES ${p}customers (id)
);
CREATE TABLE ${p}orders (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER,
  total_cents INTEGER NOT NULL,
  shipping_name VARCHAR(200),
  shipping_address VARCHAR(300),
  FOREIGN KEY (customer_id) REFERENCES ${p}customers (id)
);
CREATE TABLE ${p}order_items (
  id INTEGER NOT NULL PRIMARY KEY,
  order_id INTEGER NOT NULL,
  sku VARCHAR(64) NOT NULL,
  gift_message TEXT,
  FOREIGN KEY (order_id) REFERENCES ${p}orders (id)
);
CREATE TABLE ${p}wishlists (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  title VARCHAR(100),
  FOREIGN KEY (customer_id) REFERENCES ${p}customers (id)
);
CREATE TABLE ${p}wishlist_items (
  id INTEGER NOT NULL PRIMARY KEY,
  wishlist_id INTEGER NOT NULL,
  sku VARCHAR(64) NOT NULL,
  note TEXT,
  FOREIGN KEY (wishlist_id) REFERENCES ${p}wishlists (id)
);
CREATE TABLE ${p}newsletter (
  email VARCHAR(255) NOT NULL PRIMARY KEY,
  signed_up_at VARCHAR(32) NOT NULL
);
CREATE TABLE ${p}support_tickets (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_email VARCHAR(255),
  body TEXT${ticket_check}
);

INSERT INTO ${p}customers (id, email, full_name, phone, country) VALUES
  (1001, 'ada@example.org', 'Ada Lovelace', '+44 20 7946 0001', 'GB'),
  (1002, 'bob@example.org', 'Bob Builder', '+49 30 1234567', 'DE');
INSERT INTO ${p}addresses (id, customer_id, street, city, postcode) VALUES
  (1, 1001, '12 St James''s Square', 'London', 'SW1Y 4JH'),
  (2, 1001, 'Ockham Park', 'Ockham', 'GU23 6NP'),
  (3, 1002, 'Hauptstr. 1', 'Berlin', '10115');
INSERT INTO ${p}orders (id, customer_id, total_cents, shipping_name, shipping_address) VALUES
  (10, 1001, 4200, 'Ada Lovelace', '12 St James''s Square, London'),
  (11, 1001, 1999, 'A. Lovelace', NULL),
  (12, 1002, 500, 'Bob Builder', 'Hauptstr. 1, Berlin');
INSERT INTO ${p}order_items (id, order_id, sku, gift_message) VALUES
  (100, 10, 'SKU-1', 'Happy birthday, Ada!'),
  (101, 10, 'SKU-2', NULL),
  (102, 11, 'SKU-3', 'For the engine'),
  (103, 12, 'SKU-1', 'For Bob');
INSERT INTO ${p}wishlists (id, customer_id, title) VALUES
  (20, 1001, 'Ada wishes'),
  (21, 1002, 'Bob wishes');
INSERT INTO ${p}wishlist_items (id, wishlist_id, sku, note) VALUES
  (200, 20, 'SKU-9', 'brass gears'),
  (201, 20, 'SKU-8', NULL),
  (202, 21, 'SKU-7', 'a hammer');
INSERT INTO ${p}newsletter (email, signed_up_at) VALUES
  ('ADA@Example.org', '2024-01-01'),
  ('bob@example.org', '2024-02-02');
INSERT INTO ${p}support_tickets (id, customer_email, body) VALUES
  (1, 'ada@example.org', 'My analytical engine broke'),
  (2, 'Ada@Example.org', 'Still broken'),
  (3, 'bob@example.org', 'Hello');
