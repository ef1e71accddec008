-- Customers (role 0) are nearly every user, and a Wispro sync inserts them thousands at a time: each
-- paid an entry in an index on `role` that no customer lookup reads (customers are listed and walked
-- by id; the users list's role filter is one parameterised statement for every role). Index the staff
-- alone, the few rows a look-up by role can single out.
DROP INDEX users_role_idx;
CREATE INDEX users_staff_role_idx ON users (role) WHERE role <> 0;
