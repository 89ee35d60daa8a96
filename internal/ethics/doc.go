// Package ethics keeps the ethics assessment of each purpose that needs
// one, and gates the purpose on it: until a privacy officer approves the
// assessment, decisions for the purpose answer purpose_not_assessed and
// the banner does not offer it.
//
//	svc, err := ethics.New(ethics.Config{DB: store, Audit: log, Catalog: consentService, Inventory: inv, Gate: consentService})
//	err = consentService.SetPurposeAssessmentSource(ctx, svc.AssessedPurposes)
//	v, err := svc.Get(ctx, "analytics")                  // the draft, Steward's answers, the approval
//	v, err = svc.Save(ctx, "analytics", answers)         // the draft, by anyone the route lets in
//	v, err = svc.Approve(staffCtx, "analytics")          // a privacy officer, signed in (audit.ActorFrom)
//
// # The questions
//
// Every purpose but a necessary one (consent.Purpose.NeedsAssessment)
// carries four answers: what the customer knows of what is collected and
// how it is used and stored; whether they can opt out, and if not why;
// whether the place the data is stored is safe; whether the use is
// typical of the industry, and if not, what it brings and whether the
// customer knows why. A purpose on legitimate interest adds the balancing
// test (purpose, necessity, balance); a high-risk one (special categories
// of data, large-scale profiling, automated decisions) adds a data
// protection impact assessment (DPIA).
//
// # Steward's answers
//
// Where Steward knows the answer it gives it, computed afresh at every
// reading, so that it stays current (Facts): the published notice names the
// purpose and each of its data categories; the banner (consent) or the
// portal's objection (legitimate interest) lets the customer opt out; each
// category lives in the vault or a system the data map knows, with its
// security measures written down. An answer Steward gives takes the place
// of the officer's for that question; the others are the officer's. A
// special category among the purpose's makes it high-risk by itself.
//
// # Approval and the gate
//
// Approve takes the draft and Steward's answers as they are, checks that
// every question the purpose needs is answered (and that the storage is
// safe), and freezes them with the scope they cover: the legal basis, and
// the vendors the catalog declares for the purpose with their data
// categories. The approval holds Config.ValidMonths (12 by default), then
// the purpose closes by itself (the consent service compares its end with
// its coarse clock: no job); a purpose whose basis changes, or whose
// vendors or categories grow beyond the scope, closes at once and needs a
// new approval. A scope that shrinks does not: less is done with the data
// than was approved. Only a staff member approves; the console's route
// asks for the ethics permission, which privacy officers hold.
//
// AssessedPurposes is the consent service's PurposeAssessmentSource,
// pushed after every approval (Config.Gate) and re-read by every replica
// within ten seconds.
//
// # Upgrades
//
// Migration 0042 gives every purpose that needs an assessment and exists
// when it runs a grace period of 90 days (GracePeriod): the purpose stays
// open, and the console says "assessment due by …", until the grace ends
// or an approval replaces it. A purpose created later has none.
//
// # Audit and personal data
//
// Each save (purpose.assessment_saved) and approval
// (purpose.assessment_approved) is audited in its transaction, naming the
// purpose and which questions were answered, never the texts. The answers
// describe processing, not people: the table holds no customer data, so
// erasure has nothing to do here.
package ethics
