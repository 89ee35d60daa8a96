// Package incident is the register of personal data breaches: what
// happened, when the company became aware of it, which systems and data
// categories it touched, the risk it poses, and where its handling stands
// (draft → open → assessed → contained → notified → closed), with a
// timeline of every act on it. Every change is written to the audit log in
// the transaction that makes it.
//
// It computes who was affected from the evidence Steward holds (affected.go):
// the vault's fields by category and the connected systems' rows, the audit
// log's record of who read whose data (the insider case), or a list of
// external ids the officer uploads. Each computation is stored frozen (its
// method, parameters, members, the SHA-256 of the sorted members, counts by
// category and jurisdiction) and kept when the set is computed again.
// Forget removes an erased customer from every stored set.
//
// Its clocks (clocks.go) are the deadlines the law sets from the moment of
// awareness: GDPR Art. 33 (72 hours to the supervisory authority), Art. 34
// (the individuals, without undue delay, when the risk is high) and the US
// states' breach laws (statutes.go, a table with the statute of each row),
// applied by the affected customers' jurisdictions. The periodic job
// (periodic.go) emails the security officers 24, 12 and 2 hours before a
// deadline and once it has passed, once each.
//
//	svc, err := incident.New(incident.Config{DB: store, Audit: log, Vault: v, ...})
//	inc, err := svc.Create(ctx, incident.Input{Title: "...", Kind: incident.Confidentiality, ...})
//	set, err := svc.Compute(ctx, inc.ID, incident.Method{Kind: incident.MethodAudit, Actor: "staff:st_1", From: t1, To: t2})
//	clocks, err := svc.Clocks(ctx, inc.ID)
//
// Notifying the authority and the customers is not done here: a caller
// records it with MarkNotified, the only way to the status "notified".
//
// After a breach comes its audit (review.go): the post-incident review says
// what failed and which controls, with follow-up actions that each have an
// owner (a staff account), a due day and a state. A confirmed incident is
// not closed without a review nor while an action is open; owners are
// emailed once an action is overdue (review_remind.go). Its public account
// (publish.go) is the officer's words in up to four languages with the
// counts of the latest affected set, published in versions and withdrawn;
// internal/transparency shows it.
// Telling the parties (notice.go, regulator.go, vendors.go, referral.go):
// the draft of the report to the supervisory authority (GDPR Art. 33(3))
// and the filings recorded with it and with law enforcement; a signed notice
// to every affected customer in their language, emailed by jobs
// (NoticeArgs), once per incident and customer; the webhook
// incident.notified and an email to each affected vendor. RecordNotified
// (through MarkNotified, the only way to the status "notified") closes it.
//
//	_, err = svc.SetNoticeText(ctx, inc.ID, incident.NoticeText{Language: "en", Happened: "...", ...})
//	queued, err := svc.QueueNotices(ctx, inc.ID)
//	report, err := svc.RegulatorReport(ctx, inc.ID)
package incident
