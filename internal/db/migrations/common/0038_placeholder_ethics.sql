-- Placeholder kept on the ethics branch only, so that its migration can be
-- 0039 as the lead asked: numbers must be contiguous. Delete at merge, when
-- the other branches bring their 0038.
SELECT 1;
