// Package assurance is the security assurance of the third parties that
// receive data: questionnaires sent to a vendor contact, answered through
// a tokenised link, scored, signed off by a security officer and valid for
// a period. Disclosures ask Assurance before any data leaves: without a
// passing, current assessment that covers what the vendor does today, the
// answer is no, with the reason.
//
//	vendors, err := assurance.NewService(assurance.Config{DB: store, Audit: log, Secrets: box, Catalog: consentService})
//	sent, err := vendors.Send(ctx, "mailer", assurance.SecurityBaseline, "security@mailer.example", 0)
//	// show or send https://steward.example + sent.Path() now: only its hash is kept
//	q, err := vendors.SaveAnswers(ctx, token, map[string]string{"mfa": "yes"}, false) // the vendor, any number of times
//	q, err = vendors.SaveAnswers(ctx, token, answers, true)                            // submitted and scored
//	a, err := vendors.Review(ctx, sent.Assessment.ID, true, "SOC 2 report read")      // the officer (audit.ActorFrom)
//	assured, err := vendors.Assurance(ctx, "mailer") // assured.Passing, or assured.Reason to block with
//
// # Templates
//
// A template is a versioned set of questions: yes/no, a choice among
// options, free text, or a file reference (an https link or a document id
// the vendor gives: Steward takes no uploads). Each question has a weight
// and a required answer: the passing answers of a yes/no or choice
// question, an answer at all for text and file references. A must-pass
// question fails the whole assessment when it fails, whatever the score.
// The score is the weight of the passed questions as a share of the total;
// the assessment passes when it reaches the template's pass mark and no
// must-pass question failed (Template.Score). Saving a template stores a
// new version; an assessment keeps the version it was sent with. The
// built-in template security-baseline (BuiltinTemplates) is stored on
// first use or by EnsureBuiltins, as a new version whenever a Steward
// release changes it, and cannot be changed by PutTemplate.
//
// # Assessments
//
//	Send          (none)      → sent       by staff: the link is made, the scope recorded
//	SaveAnswers   sent        → sent       by the link's holder: a new answers version
//	SaveAnswers   sent        → submitted  with submit: scored, no more changes
//	Revoke        sent        → revoked    by staff: the link stops working
//	Revoke        approved    → revoked    by staff: the approval is withdrawn, the vendor gated at once
//	Review        submitted   → approved   by a staff member, with comments, only if passed
//	Review        submitted   → rejected   by a staff member, with comments
//
// Any other change is refused with a conflict that names the state. There
// is no override of a failed score: a vendor that falls short is rejected
// and sent a new questionnaire once it has closed the gaps, so that an
// approval always means the answers passed. An approval is valid for
// Config.ValidMonths (12 by default); Expiring lists the approvals that
// end soon, for the vendor.assessment_expired webhook and the reminder to
// re-assess.
//
// Each change is one transaction: the assessment row (locked as it is read
// on PostgreSQL), and an audit entry (vendor.assessment_sent, _submitted,
// _approved, _rejected, _revoked; target vendor:KEY) written with
// AppendTx. If the entry cannot be written, nothing changes. The entries
// hold ids, states, scores and question ids, never the answers, the
// officer's comments or a contact. A save that does not submit changes no
// state and writes no audit entry (a vendor may save many times); it is
// kept as a numbered version of the answers (AnswerHistory). Contacts
// (vendor.contact_added, _removed) and templates (vendor.template_saved,
// target vendor_template:KEY) are audited the same way, and so is every
// opening of a sealed contact (vendor.contacts_revealed,
// vendor.assessment_contact_revealed), before it happens.
//
// # The link
//
// The link's token is 256 random bits, shown once; Steward keeps its
// SHA-256. It opens one assessment of one vendor, until it expires (30
// days by default, 90 at most), is withdrawn, or its answers are
// submitted. ByToken and SaveAnswers look an assessment up by the token's
// hash only, so nothing of another assessment or vendor can be reached;
// their refusals name nothing but the link. The vendor sees the questions
// without their weights, passing answers or must-pass flags (Prompt).
//
// # Scope and assurance
//
// An assessment records the vendor's purposes and data categories when it
// was sent. Assurance passes when the vendor's latest approval passed, has
// not expired, and covers every purpose and data category the catalog
// gives the vendor now; a vendor whose purposes or categories grew needs a
// new assessment. Otherwise Assurance answers why: "no assessment",
// "assessment vas_… sent on … is not yet submitted", "… awaits review",
// "… was rejected on …", "assessment vas_… expired on …", "purposes grew
// since the assessment: marketing".
//
// # The vendor gate
//
// The same answer gates decisions and the banner: AssessedVendors is the
// consent service's AssessmentSource (one query for every vendor), pushed
// after every sign-off and withdrawal (Config.Gate) and re-read by every
// replica within ten seconds; the consent service itself closes a vendor
// whose approval ran out or whose catalog entry grew beyond the scope.
//
// # Personal data
//
// The address an assessment was sent to, and the names and addresses of a
// vendor's contacts, are sealed with the SecretBox, bound to their row;
// Contact and RevealContacts open them after recording the opening in the
// audit log. The vendor's answers describe its security, not people, and
// are stored as given (in every saved version); they never go to the
// audit log.
package assurance
