-- The steps of erasing a request's subject (the vault, the consent ledger,
-- each connected system), each recorded when done with its report (row
-- counts, never values): a retried job skips what is done, and the final
-- report says what was erased where.
CREATE TABLE dsr_erasure_steps (
	request_id TEXT NOT NULL,
	step TEXT NOT NULL,
	report TEXT NOT NULL,
	done_at BIGINT NOT NULL,
	PRIMARY KEY (request_id, step)
);
