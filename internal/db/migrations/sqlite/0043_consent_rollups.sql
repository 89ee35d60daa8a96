-- Consent analytics (internal/analytics): counts of purpose-level choices
-- (vendor '') per UTC day of the event's time (days since 1970-01-01) ×
-- purpose × property × jurisdiction × notice version × source, one column
-- per outcome; consent_rollups_purpose, the same summed over property,
-- jurisdiction and source, is what the page reads when it filters and
-- groups by none of them (a hundredth of the rows). The ledger's append
-- path adds to both in the transaction of the append (internal/consent,
-- ledger_sql.go); `steward analytics rebuild` recomputes them from the
-- ledger. Counts only: no subject, device or event
-- id, so erasure has nothing to do here.
CREATE TABLE consent_rollups (
	day BIGINT NOT NULL,
	purpose TEXT NOT NULL,
	property TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	source TEXT NOT NULL,
	grants BIGINT NOT NULL DEFAULT 0,
	denials BIGINT NOT NULL DEFAULT 0,
	withdrawals BIGINT NOT NULL DEFAULT 0,
	objections BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (day, purpose, property, jurisdiction, notice_version, source)
) WITHOUT ROWID; -- the rows in key order: a range of days is read in one sequential pass

-- The ledger written before this migration.
INSERT INTO consent_rollups (day, purpose, property, jurisdiction, notice_version, source, grants, denials, withdrawals, objections)
SELECT at / 86400000000, purpose, property, jurisdiction, notice_version, source,
	SUM(CASE WHEN action = 'grant' THEN 1 ELSE 0 END), SUM(CASE WHEN action = 'deny' THEN 1 ELSE 0 END),
	SUM(CASE WHEN action = 'withdraw' THEN 1 ELSE 0 END), SUM(CASE WHEN action = 'object' THEN 1 ELSE 0 END)
FROM consent_events WHERE vendor = '' AND action IN ('grant', 'deny', 'withdraw', 'object')
GROUP BY at / 86400000000, purpose, property, jurisdiction, notice_version, source;

CREATE TABLE consent_rollups_purpose (
	day BIGINT NOT NULL,
	purpose TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	grants BIGINT NOT NULL DEFAULT 0,
	denials BIGINT NOT NULL DEFAULT 0,
	withdrawals BIGINT NOT NULL DEFAULT 0,
	objections BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (day, purpose, notice_version)
) WITHOUT ROWID;

INSERT INTO consent_rollups_purpose (day, purpose, notice_version, grants, denials, withdrawals, objections)
SELECT day, purpose, notice_version, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections)
FROM consent_rollups GROUP BY day, purpose, notice_version;
