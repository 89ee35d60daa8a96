-- Placeholder kept on the scanner branch only, so that its migration can be
-- 0037 as the lead asked: numbers must be contiguous. Delete at merge, when
-- the other branches bring their 0035.
SELECT 1;
