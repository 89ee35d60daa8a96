-- A training module's quiz is a pool: each attempt asks `ask` of its
-- questions, drawn at random (0: all of them, in random order).
ALTER TABLE training_modules ADD COLUMN ask INTEGER NOT NULL DEFAULT 0;
