-- Consent analytics: the rollups per day, purpose, notice version and ONE
-- of property, jurisdiction and source, so that a view filtering or
-- grouping by one of them reads a few percent of the full cells
-- (consent_rollups); only views on two or more of them read the full
-- cells. Kept by the ledger's append path in the transaction of the events
-- (internal/consent, rollup.go), rebuilt by `steward analytics rebuild`.
-- Counts only: no subject, device or event id.

CREATE TABLE consent_rollups_property (
	day BIGINT NOT NULL,
	purpose TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	property TEXT NOT NULL,
	grants BIGINT NOT NULL DEFAULT 0,
	denials BIGINT NOT NULL DEFAULT 0,
	withdrawals BIGINT NOT NULL DEFAULT 0,
	objections BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (day, purpose, notice_version, property)
) WITHOUT ROWID;

INSERT INTO consent_rollups_property (day, purpose, notice_version, property, grants, denials, withdrawals, objections)
SELECT day, purpose, notice_version, property, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections)
FROM consent_rollups GROUP BY day, purpose, notice_version, property;

CREATE TABLE consent_rollups_jurisdiction (
	day BIGINT NOT NULL,
	purpose TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	grants BIGINT NOT NULL DEFAULT 0,
	denials BIGINT NOT NULL DEFAULT 0,
	withdrawals BIGINT NOT NULL DEFAULT 0,
	objections BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (day, purpose, notice_version, jurisdiction)
) WITHOUT ROWID;

INSERT INTO consent_rollups_jurisdiction (day, purpose, notice_version, jurisdiction, grants, denials, withdrawals, objections)
SELECT day, purpose, notice_version, jurisdiction, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections)
FROM consent_rollups GROUP BY day, purpose, notice_version, jurisdiction;

CREATE TABLE consent_rollups_source (
	day BIGINT NOT NULL,
	purpose TEXT NOT NULL,
	notice_version TEXT NOT NULL,
	source TEXT NOT NULL,
	grants BIGINT NOT NULL DEFAULT 0,
	denials BIGINT NOT NULL DEFAULT 0,
	withdrawals BIGINT NOT NULL DEFAULT 0,
	objections BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (day, purpose, notice_version, source)
) WITHOUT ROWID;

INSERT INTO consent_rollups_source (day, purpose, notice_version, source, grants, denials, withdrawals, objections)
SELECT day, purpose, notice_version, source, SUM(grants), SUM(denials), SUM(withdrawals), SUM(objections)
FROM consent_rollups GROUP BY day, purpose, notice_version, source;
