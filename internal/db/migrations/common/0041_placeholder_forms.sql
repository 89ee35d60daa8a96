-- Placeholder for another helper's migration 0041, so that 0042_forms applies
-- in order on this branch. The lead drops it at merge.
SELECT 1;
