-- Undeclared trackers a website scan found are drift findings too
-- (internal/connector/drift, trackers.go): evidence 'tracker', system
-- 'site:<property>', table the tracker's kind, column its name and domain.
ALTER TABLE drift_findings DROP CONSTRAINT drift_findings_evidence_check;
ALTER TABLE drift_findings ADD CONSTRAINT drift_findings_evidence_check CHECK (evidence IN ('name', 'values', 'tracker'));
