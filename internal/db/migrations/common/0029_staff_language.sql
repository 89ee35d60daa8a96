-- A staff member's language for the console and the emails Steward sends
-- them (internal/staff, SetLanguage): a code of the message catalog
-- (en, de, fr, es), or '' to follow the browser.
ALTER TABLE staff ADD COLUMN language TEXT NOT NULL DEFAULT '';
