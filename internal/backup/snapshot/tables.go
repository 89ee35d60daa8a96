package snapshot

import "strings"

// A tableRule says what a backup does with one table of Steward's schema:
// back it up, or leave it out for a reason written next to it. Every table
// the migrations create is named here (TestEveryTableClassified reads the
// live schema of both engines), so that a new migration cannot add state
// that backups silently miss.
type tableRule struct {
	name string
	// backedUp: the table's rows are in every snapshot and restored.
	backedUp bool
	// seeded: the migrations insert rows (a head, the default data
	// categories); Load replaces them with the snapshot's instead of
	// counting them as "not empty".
	seeded bool
	// why is the reason a table is left out.
	why string
}

// tables lists Steward's tables in the order a snapshot holds them, which
// is the order Load inserts them: every table after the tables its foreign
// keys name (TestTableOrderFollowsForeignKeys checks it on both engines).
var tables = []tableRule{
	// The catalog.
	{name: "properties", backedUp: true},
	{name: "purposes", backedUp: true},
	{name: "vendors", backedUp: true},
	{name: "notices", backedUp: true},
	{name: "consent_forms", backedUp: true}, // the forms that ask for consent: catalog, no personal data
	{name: "catalog_head", backedUp: true, seeded: true},
	{name: "data_categories", backedUp: true, seeded: true},
	{name: "tcf_vendor_lists", backedUp: true},
	{name: "api_keys", backedUp: true}, // hashes only: integrators' keys keep working after a restore

	// The consent ledger, its chain, erasures, restrictions and device links.
	{name: "ledger_head", backedUp: true, seeded: true},
	{name: "consent_events", backedUp: true},
	{name: "consent_erasures", backedUp: true},
	{name: "ledger_checkpoints", backedUp: true},
	{name: "consent_restrictions", backedUp: true},
	{name: "consent_restriction_lifts", backedUp: true},
	{name: "consent_rollups", backedUp: true}, // counts of choices, no person: restored beside the ledger they sum
	{name: "consent_rollups_purpose", backedUp: true},
	{name: "consent_rollups_property", backedUp: true},
	{name: "consent_rollups_jurisdiction", backedUp: true},
	{name: "consent_rollups_source", backedUp: true},
	// How far the rollups are complete (SQLite writes them about once a
	// second): restored with them, so that the first open sums the
	// ledger's tail after it.
	{name: "consent_rollups_cursor", backedUp: true, seeded: true},
	{name: "subjects", backedUp: true},
	{name: "subject_devices", backedUp: true},

	// The vault: ciphertexts, wrapped data keys, tokens, lookups, erasures.
	{name: "vault_head", backedUp: true, seeded: true},
	{name: "vault_keks", backedUp: true},
	{name: "vault_keys", backedUp: true},
	{name: "vault_fields", backedUp: true},
	{name: "vault_tokens", backedUp: true},
	{name: "vault_lookups", backedUp: true},
	{name: "vault_erasures", backedUp: true},
	{name: "vault_secrets", backedUp: true},

	// The audit log and its signed checkpoints.
	{name: "audit_head", backedUp: true, seeded: true},
	{name: "audit_entries", backedUp: true},
	{name: "audit_checkpoints", backedUp: true},
	{name: "audit_keys", backedUp: true},

	// Staff and training.
	{name: "staff", backedUp: true},
	{name: "training_modules", backedUp: true},
	{name: "training_completions", backedUp: true},
	{name: "training_assignments", backedUp: true},
	{name: "training_reminders", backedUp: true}, // without it a restored server would email every reminder again

	// Quarterly access reviews: the decisions are evidence, and the
	// reminders already sent are not sent again after a restore.
	{name: "access_reviews", backedUp: true},
	{name: "access_review_items", backedUp: true},
	{name: "access_review_reminders", backedUp: true},

	// Incidents: the register, its timeline, the frozen affected sets and
	// the reminders already sent.
	{name: "incidents", backedUp: true},
	{name: "incident_actions", backedUp: true},
	{name: "incident_affected_sets", backedUp: true},
	{name: "incident_affected_members", backedUp: true},
	{name: "incident_reminders", backedUp: true}, // without it a restored server would email every reminder again
	{name: "incident_reviews", backedUp: true},
	{name: "incident_review_actions", backedUp: true}, // reminded_at too: a restore does not remind owners twice
	{name: "incident_accounts", backedUp: true},
	{name: "incident_notice_texts", backedUp: true},
	{name: "incident_notices", backedUp: true}, // without it a restored server would send every notice again
	{name: "incident_filings", backedUp: true},
	{name: "incident_vendor_notices", backedUp: true},
	// The public transparency page's versions: its history is part of what
	// it published, so a restore keeps the numbers readers have seen.
	{name: "transparency_versions", backedUp: true},

	// Requests and their history, and the connected systems' calls for them.
	{name: "dsr_requests", backedUp: true},
	{name: "dsr_events", backedUp: true},
	{name: "dsr_identity", backedUp: true},
	{name: "dsr_agents", backedUp: true},
	{name: "dsr_erasure_steps", backedUp: true},
	{name: "webhook_calls", backedUp: true},

	// Disclosures, vendors' assessments and contacts.
	{name: "disclosures", backedUp: true},
	{name: "vendor_templates", backedUp: true},
	{name: "vendor_assessments", backedUp: true},
	{name: "vendor_answers", backedUp: true},
	{name: "vendor_contacts", backedUp: true},

	// Webhooks configuration and where the consent feed stands.
	{name: "outbox_endpoints", backedUp: true},
	{name: "feed_cursors", backedUp: true}, // without it the feed would send every consent.changed again from the ledger's start

	// The inventory, the data map's findings, retention.
	{name: "inventory_systems", backedUp: true},
	{name: "purpose_assessments", backedUp: true}, // the purposes' ethics assessments and approvals: no customer data
	{name: "drift_findings", backedUp: true},
	{name: "scan_runs", backedUp: true},     // tracker scans' reports: names and hosts, never a value
	{name: "scan_trackers", backedUp: true}, // what the scans found and the officers' assignments
	{name: "legal_holds", backedUp: true},
	{name: "retention_runs", backedUp: true},

	// Left out.
	{name: "schema_migrations", why: "the target's own migrations write it; the snapshot carries the schema version in its header"},
	{name: "staff_sessions", why: "sign-in sessions: staff sign in again on the restored server"},
	{name: "staff_resets", why: "one-time password and authenticator links: short-lived, issued again by an administrator"},
	{name: "customer_codes", why: "one-time sign-in codes and their attempt counters: valid for minutes"},
	{name: "customer_sessions", why: "customers' portal sessions: customers sign in again"},
	{name: "exports", why: "access archives are downloads that expire in days; a restore must not bring back bulk copies of personal data (the request can be fulfilled again)"},
	{name: "export_chunks", why: "the ciphertext of the export archives left out above"},
	{name: "outbox_messages", why: "the webhook delivery queue: its pending messages belong to River jobs that are not restored, and delivering old payloads again after a restore would repeat events to the company's systems"},
	{name: "backup_runs", why: "the history of backups and drills belongs to the store that ran them: a restored store starts its own, and its first backup and drill are recorded there"},
	{name: "outbox_attempts", why: "the delivery log of the outbox messages left out above"},
}

// excludedPrefixes are families of tables left out whole.
var excludedPrefixes = []struct{ prefix, why string }{
	{"river_", "River's job queue, leader election and migrations: work in flight, not state; the restored server schedules its periodic jobs again"},
}

// rule returns what backups do with table, and whether it is classified.
func rule(table string) (tableRule, bool) {
	for _, t := range tables {
		if t.name == table {
			return t, true
		}
	}
	for _, p := range excludedPrefixes {
		if strings.HasPrefix(table, p.prefix) {
			return tableRule{name: table, why: p.why}, true
		}
	}
	return tableRule{}, false
}

// backedUpTables returns the rules of the backed-up tables, in snapshot order.
func backedUpTables() []tableRule {
	var out []tableRule
	for _, t := range tables {
		if t.backedUp {
			out = append(out, t)
		}
	}
	return out
}
