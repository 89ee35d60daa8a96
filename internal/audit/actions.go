package audit

import (
	"fmt"
	"slices"
	"strings"
)

// ActionInfo declares an audit action: its name, what it records in a
// sentence a privacy officer understands, and the packages that write it
// (paths in the module, such as "internal/vault").
type ActionInfo struct {
	Name        string
	Description string
	Emitters    []string
}

// Emitting packages, named once.
const (
	emitAPIKey         = "internal/apikey"
	emitCLI            = "cmd/steward"
	emitConsent        = "internal/consent"
	emitCustomer       = "internal/customer"
	emitDisclosure     = "internal/disclosure"
	emitDSR            = "internal/dsr"
	emitDSRMail        = "internal/dsr/dsrmail"
	emitDisclosureMail = "internal/disclosure/disclosuremail"
	emitFulfil         = "internal/fulfil"
	emitIncident       = "internal/incident"
	emitInventory      = "internal/inventory"
	emitOutbox         = "internal/outbox"
	emitReveal         = "internal/reveal"
	emitRetention      = "internal/retention"
	emitReview         = "internal/review"
	emitRecovery       = "internal/recovery"
	emitStaff          = "internal/staff"
	emitVault          = "internal/vault"
	emitAssurance      = "internal/assurance"
	emitDrift          = "internal/connector/drift"
	emitScanner        = "internal/scanner"
	emitEthics         = "internal/ethics"
	emitAnalytics      = "internal/analytics"
	emitAdmin          = "internal/web/admin"
	emitAPI            = "internal/web/api"
	emitPortal         = "internal/web/portal"
)

// Prefixes of the action families that their packages complete at run
// time; each completion is a registered action below.
const (
	// PrefixCatalog + kind + "." + verb: "catalog.purpose.update".
	PrefixCatalog = "catalog."
	// PrefixDisclosure + the disclosure's state: "disclosure.approved".
	PrefixDisclosure = "disclosure."
	// PrefixDSR + the change recorded in the request's history: "dsr.verify".
	PrefixDSR = "dsr."
	// PrefixJob + the console's operation on a background job: "job.retry".
	PrefixJob = "job."
)

// actionRegistry is every audit action Steward writes, grouped by area.
// An entry whose action is not here is refused (Entry.Validate), so a new
// action is declared here first, with its description and emitter, and
// appears in docs/operations.md (TestActionsDocumented regenerates it).
var actionRegistry = [...]ActionInfo{
	// Reading and changing sealed personal data.
	{"vault.reveal", "A staff member or a reveal key read a customer's sealed field in plain text, with a stated purpose and ticket.", []string{emitAdmin, emitAPI}},
	{"vault.detokenize", "A reveal key exchanged a token for the sealed value it stands for, with a stated purpose and ticket.", []string{emitAPI}},
	{"vault.put", "A customer's sealed field was stored or replaced (the field's name is recorded, never its value).", []string{emitVault}},
	{"vault.correct", "A customer's sealed field was corrected, as a rectification asks.", []string{emitVault}},
	{"vault.delete", "A customer's sealed field was deleted.", []string{emitVault}},
	{"vault.tokenize", "A token was made to stand for a customer's sealed field.", []string{emitVault}},
	{"vault.revoke_token", "A token for a customer's sealed field was revoked, so it can no longer be exchanged.", []string{emitVault}},
	{"vault.erase", "A customer was erased: their data key was destroyed, which makes every sealed copy unreadable.", []string{emitAPI, emitFulfil}},
	{"alert.reveal_burst", "An alert: one actor revealed too many values in a short time, and the next reveal was refused.", []string{emitReveal}},

	// Keys.
	{"keys.rotate", "The master key was rotated: customers' data keys were rewrapped under its new version.", []string{emitCLI}},
	{"keys.retire", "An old version of the master key was retired once nothing was wrapped under it.", []string{emitCLI}},
	{"api_key.create", "An API key was made, with its scope (and property, for an ingest key).", []string{emitAPIKey}},
	{"api_key.revoke", "An API key was revoked: it is refused from now on.", []string{emitAPIKey}},

	// Staff accounts.
	{"staff.create", "A staff account was added, with its role.", []string{emitStaff}},
	{"staff.role", "A staff member's role was changed.", []string{emitStaff}},
	{"staff.language", "A staff member chose the language of their console (or to follow their browser).", []string{emitStaff}},
	{"staff.disable", "A staff account was disabled and its sessions ended.", []string{emitStaff}},
	{"staff.sign_in", "A staff member signed in to the console.", []string{emitStaff}},
	{"staff.sign_in_failed", "A sign-in to the console was refused, with the reason (never the email address typed).", []string{emitStaff}},
	{"staff.reset_issued", "A one-time link to reset a staff member's password or second factor was issued; their sessions ended.", []string{emitStaff}},
	{"staff.reset_redeemed", "A staff member set a new password or second factor with a one-time reset link.", []string{emitStaff}},
	{"staff.unlock", "A staff account locked after failed sign-ins was unlocked.", []string{emitStaff}},
	{"training.module_put", "A training module was added or changed (a built-in one changed becomes the stored version).", []string{emitStaff}},
	{"training.module_install", "A built-in training module was installed or brought up to the text Steward ships.", []string{emitStaff}},
	{"training.attempt", "A staff member took a training module's quiz, with the score and whether they passed.", []string{emitStaff}},
	{"training.assignment_put", "A training module was assigned to a role, or its days to complete it changed.", []string{emitStaff}},
	{"training.assignment_delete", "A training module was taken off a role's programme.", []string{emitStaff}},

	// Quarterly access reviews.
	{"access_review.open", "An administrator opened a quarter's access review, listing every enabled staff account with its role, last sign-in and training standing.", []string{emitReview}},
	{"access_review.confirm", "An administrator confirmed a staff account's access and role in an access review (details: the review, the role, and whether it was their own).", []string{emitReview}},
	{"access_review.change", "An administrator changed a staff account's role in an access review (details: the review, the role and the new role; staff.role records the change itself).", []string{emitReview}},
	{"access_review.disable", "An administrator disabled a staff account in an access review (staff.disable records the disabling itself).", []string{emitReview}},
	{"access_review.close", "An administrator closed a quarter's access review once every account had a decision, with how many were confirmed, changed and disabled.", []string{emitReview}},
	{"access_review.remind", "An administrator was emailed that a quarter's access review is due or overdue (details: the quarter and the mark).", []string{emitReview}},

	// Staff looking at customers.
	{"customer.search", "A staff member searched for a customer, by which kind of identifier and with how many matches.", []string{emitAdmin}},
	{"customer.view", "A staff member opened a customer's record, every field masked.", []string{emitAdmin}},
	{"customer.notify", "Steward read a customer's email address from the vault to tell them of a change to their account or their request, or of a breach that affected them.", []string{emitCustomer, emitDSRMail, emitIncident}},

	// The customer in the privacy portal.
	{"portal.sign_in", "A customer signed in to the privacy portal with an emailed one-time code.", []string{emitCustomer}},
	{"portal.show_own_data", "A signed-in customer chose to see the values Steward holds about them.", []string{emitPortal}},
	{"portal.find_in_systems", "A signed-in customer asked Steward to look for them in the company's systems.", []string{emitPortal}},

	// The purposes' ethics assessments.
	{"purpose.assessment_saved", "A purpose's ethics assessment draft was saved; the questions answered are recorded, not the texts.", []string{emitEthics}},
	{"purpose.assessment_approved", "A privacy officer approved a purpose's ethics assessment: the purpose may be used within the scope recorded (legal basis, vendors, data categories) until its end.", []string{emitEthics}},

	// Consent analytics.
	{"analytics.rebuilt", "The consent analytics were recomputed from the ledger (console or CLI): how many rollup cells and choices they hold now.", []string{emitAnalytics}},

	// The data map (inventory).
	{"inventory.system.update", "A privacy officer changed what the data map says of a system (its owner, location, description or security measures); the fields changed are recorded, not their text.", []string{emitInventory}},

	// The catalog (properties, purposes, vendors, notices).
	{"catalog.category.create", "A data category was added to the data map's vocabulary.", []string{emitConsent}},
	{"catalog.category.update", "A data category of the data map's vocabulary was changed (its names, special or in-house flag, or retention).", []string{emitConsent}},
	{"catalog.property.create", "A property (a website or app) was added to the catalog.", []string{emitConsent}},
	{"catalog.property.update", "A property (a website or app) of the catalog was changed.", []string{emitConsent}},
	{"catalog.purpose.create", "A purpose (why data is used) was added to the catalog.", []string{emitConsent}},
	{"catalog.purpose.update", "A purpose (why data is used) of the catalog was changed.", []string{emitConsent}},
	{"catalog.vendor.create", "A vendor (a third party that may receive data) was added to the catalog.", []string{emitConsent}},
	{"catalog.vendor.update", "A vendor (a third party that may receive data) of the catalog was changed.", []string{emitConsent}},
	{"catalog.form.create", "A form of a property that asks for consent (sign-up, checkout, contact) was declared, with the purposes it asks for.", []string{emitConsent}},
	{"catalog.form.update", "A form of a property that asks for consent was changed (its name or the purposes it asks for).", []string{emitConsent}},
	{"catalog.notice.create", "A draft of the privacy notice was added.", []string{emitConsent}},
	{"catalog.notice.update", "A draft of the privacy notice was changed.", []string{emitConsent}},
	{"catalog.notice.publish", "A version of the privacy notice was published; consents name the version they were given under.", []string{emitConsent}},

	// Retention.
	{"backup.create", "A backup was taken: its id, target, chunks and size; the contents are encrypted to offline recipients.", []string{emitRecovery}},
	{"backup.restored", "The store was restored from a backup: its id and time, the signed audit checkpoint it held, how many later erasures were replayed, and whether missing erasures were accepted.", []string{emitRecovery}},
	{"retention.run", "Retention ran (or a dry run counted): how many vault fields, rows of connected systems, closed requests, archives and ledger subjects went, per system; never a value or a customer.", []string{emitRetention}},
	{"retention.hold_place", "A legal hold was placed on a customer: retention keeps all of their data until it is lifted.", []string{emitRetention}},
	{"retention.hold_lift", "A customer's legal hold was lifted: retention applies to their data again.", []string{emitRetention}},
	{"retention.read_held_contacts", "A retention run opened the email addresses of the customers under a legal hold (how many, never which), to keep their rows in a system that finds rows by email.", []string{emitRetention}},

	// Consent.
	{"consent.pseudonymise", "A customer's consent history was pseudonymised on erasure: the events stay as evidence without naming them.", []string{emitConsent}},
	{"consent.restrict", "Processing of a customer's data for a purpose was restricted, as their request asks.", []string{emitConsent}},
	{"consent.lift", "A restriction of processing for a purpose was lifted by staff.", []string{emitConsent}},
	{"consent.lift_requested", "Staff asked to lift a customer's restriction; it waits until the customer has been told (GDPR Art. 18(3)).", []string{emitConsent}},
	{"consent.lift_notice_failed", "The customer could not be told that their restriction is to be lifted, so it stays in force.", []string{emitConsent}},
	{"consent.lift_cancelled", "Staff withdrew a lift of a restriction before it took effect.", []string{emitConsent}},

	// Disclosures to third parties.
	{"disclosure.allowed", "A disclosure of a customer's data to a vendor went ahead, allowed by their consent or as necessary.", []string{emitDisclosure}},
	{"disclosure.blocked", "A disclosure of a customer's data to a vendor was refused, for the reason recorded.", []string{emitDisclosure}},
	{"disclosure.pending", "A disclosure of a customer's data to a vendor waits for the customer's approval.", []string{emitDisclosure}},
	{"disclosure.approved", "The customer approved a disclosure of their data to a vendor.", []string{emitDisclosure}},
	{"disclosure.declined", "The customer declined a disclosure of their data to a vendor.", []string{emitDisclosure}},
	{"disclosure.expired", "A disclosure the customer did not answer in time expired and did not go ahead.", []string{emitDisclosure}},
	{"disclosure.notify", "Steward read a customer's email address from the vault to ask them to approve a disclosure.", []string{emitDisclosureMail}},

	// Data subject requests.
	{"dsr.file", "A data subject request was filed, with its kind and deadline.", []string{emitDSR}},
	{"dsr.reveal", "A staff member or a job opened a request's sealed details (the requester's address, answers, an agent's papers).", []string{emitDSR}},
	{"dsr.prove_identity", "A requester tried to prove their identity for a request, and whether the needed tier was reached.", []string{emitDSR}},
	{"dsr.identity_verified_by_staff", "A staff member recorded that they verified a requester's identity another way (the channel, not the statement, is recorded here).", []string{emitDSR}},
	{"dsr.require_identity", "The level of identity proof a request needs was set.", []string{emitDSR}},
	{"dsr.agent_file", "An authorised agent filed a request on a customer's behalf.", []string{emitDSR}},
	{"dsr.agent_confirm", "The customer confirmed that an agent's request on their behalf is theirs.", []string{emitDSR}},
	{"dsr.agent_expire", "An agent's request the customer did not confirm in time was closed.", []string{emitDSR}},
	{"dsr.verify", "A request's requester was verified.", []string{emitDSR}},
	{"dsr.start", "Work on a verified request began.", []string{emitDSR}},
	{"dsr.approve_proposal", "Staff checked and approved the new values a rectification request proposes.", []string{emitDSR}},
	{"dsr.ask_customer", "Staff asked the customer a question about their request; the deadline's clock stops.", []string{emitDSR}},
	{"dsr.customer_replied", "The customer answered staff's question; the request resumes.", []string{emitDSR}},
	{"dsr.complete", "A request was completed.", []string{emitDSR}},
	{"dsr.reject", "A request was rejected, with the reasons given to the customer.", []string{emitDSR}},
	{"dsr.extend", "A request's deadline was extended, with the reason given to the customer.", []string{emitDSR}},
	{"dsr.cancel", "The customer withdrew a request whose work had not begun.", []string{emitDSR}},
	{"dsr.attach_subject", "A request was matched to a customer record.", []string{emitDSR}},
	{"dsr.acknowledge", "Receipt of a request was confirmed to the customer.", []string{emitDSR}},
	{"dsr.waiting_on", "What the customer sees a request wait for was set or cleared.", []string{emitDSR}},
	{"dsr.export_fields", "The sealed fields of a customer were read into the archive their access or portability request asked for.", []string{emitFulfil}},
	{"dsr.contact_from_vault", "A request filed through the API took the customer's email address from the vault.", []string{emitAPI}},

	// Background jobs.
	{"job.retry", "A staff member ran a background job again.", []string{emitAdmin}},
	{"job.cancel", "A staff member cancelled a background job.", []string{emitAdmin}},

	// Webhooks.
	{"webhook.endpoint_create", "A webhook endpoint was added, with the event types it receives.", []string{emitOutbox}},
	{"webhook.endpoint_update", "A webhook endpoint's address, event types or state was changed.", []string{emitOutbox}},
	{"webhook.endpoint_delete", "A webhook endpoint was removed.", []string{emitOutbox}},
	{"webhook.endpoint_disable", "Steward disabled a webhook endpoint that answered that it is gone.", []string{emitOutbox}},
	{"webhook.secret_rotate", "A webhook endpoint's signing secret was replaced; the old one signs beside it for a day.", []string{emitOutbox}},
	{"webhook.replay", "An undelivered webhook message was sent again.", []string{emitOutbox}},
	{"webhook.replay_dead", "Every dead webhook message of an endpoint was sent again.", []string{emitOutbox}},

	// Vendors and their assessments.
	{"vendor.contact_added", "A contact person was added to a vendor (sealed; the log names the vendor, not the person).", []string{emitAssurance}},
	{"vendor.contact_removed", "A contact person was removed from a vendor.", []string{emitAssurance}},
	{"vendor.contacts_revealed", "A staff member opened a vendor's contact persons.", []string{emitAssurance}},
	{"vendor.template_saved", "A security questionnaire template for vendors was saved.", []string{emitAssurance}},
	{"vendor.assessment_sent", "A security questionnaire was sent to a vendor.", []string{emitAssurance}},
	{"vendor.assessment_submitted", "A vendor submitted its answers to a security questionnaire.", []string{emitAssurance}},
	{"vendor.assessment_approved", "A vendor's security assessment was approved.", []string{emitAssurance}},
	{"vendor.assessment_rejected", "A vendor's security assessment was rejected.", []string{emitAssurance}},
	{"vendor.assessment_revoked", "A questionnaire link not yet answered, or an approval, was withdrawn, with the reason (details: the state it had); a withdrawn approval gates the vendor at once.", []string{emitAssurance}},
	{"vendor.assessment_contact_revealed", "A staff member opened the contact a security questionnaire was sent to.", []string{emitAssurance}},

	// Incidents (breaches) and who they affected.
	{"incident.open", "A security officer recorded an incident (a breach of personal data security), with its kind.", []string{emitIncident}},
	{"incident.report", "A staff member reported a suspected incident; a draft waits for the security officers.", []string{emitIncident}},
	{"incident.update", "What the register says of an incident was changed; the fields changed are recorded, not their text.", []string{emitIncident}},
	{"incident.status", "An incident moved to another status (open, assessed, contained, notified, closed).", []string{emitIncident}},
	{"incident.assess", "An incident's risk to the people affected was assessed (none, risk, high), with the level asked and the level recorded.", []string{emitIncident}},
	{"incident.note", "An action was added to an incident's timeline (the note is on the timeline, not in the log).", []string{emitIncident}},
	{"incident.affected", "The customers an incident affected were computed and stored, frozen: the method, how many, and the hash of the set; never who.", []string{emitIncident}},
	{"incident.remind", "The security officers were emailed that an incident's deadline is near or has passed.", []string{emitIncident}},
	{"incident.review", "The post-incident review was written or changed: what failed and which controls; the areas are recorded, not the text.", []string{emitIncident}},
	{"incident.review_action", "A follow-up action of the post-incident review was added, with its owner (a staff account) and due date.", []string{emitIncident}},
	{"incident.review_action_done", "A follow-up action of the post-incident review was marked done, by whom.", []string{emitIncident}},
	{"incident.review_remind", "The owner of a follow-up action past its due date was emailed, once.", []string{emitIncident}},
	{"incident.publish", "A public account of an incident was published on the transparency pages (a new version; earlier ones are kept), with the counts it gives.", []string{emitIncident}},
	{"incident.withdraw", "An incident's public account was taken off the transparency pages.", []string{emitIncident}},
	{"incident.notice_text", "A security officer wrote the customers' notice of an incident in one language (the language is recorded, not the text).", []string{emitIncident}},
	{"incident.notices_queued", "The notices to an incident's affected customers were queued, with how many and the affected set they go to; never who.", []string{emitIncident}},
	{"incident.notices_sent", "A batch of an incident's notices was signed and emailed: how many were sent and how many failed.", []string{emitIncident}},
	{"incident.filed", "A security officer recorded a filing about an incident with an outside body: the report to the supervisory authority or a referral to law enforcement (the agency and reference are on the incident, not in the log).", []string{emitIncident}},
	{"incident.vendor_notified", "A vendor or processor was told of an incident: the webhook incident.notified was emitted and its contacts emailed.", []string{emitIncident}},

	// Personal data nobody declared (drift scans of the connected systems).
	{"drift.declare", "A privacy officer declared an undeclared column of a connected system to be personal data of a category (the dataset file is then to declare it), or an undeclared tracker of a website with a purpose (its vendor in scan.assign).", []string{emitDrift}},
	{"drift.dismiss", "A privacy officer dismissed a drift finding: the column is not personal data (the reason stays with the finding).", []string{emitDrift}},

	// Trackers the scanner found on a property's pages.
	{"scan.assign", "A privacy officer assigned a cookie, storage key or host that a tracker scan found to a purpose and vendor (details: its kind, name, domain, purpose, vendor); later scans classify it so.", []string{emitScanner}},
}

// actionIndex finds a registered action by name.
var actionIndex = func() map[string]int {
	m := make(map[string]int, len(actionRegistry))
	for i, a := range actionRegistry {
		if _, dup := m[a.Name]; dup {
			panic(fmt.Sprintf("audit: action %q registered twice", a.Name))
		}
		m[a.Name] = i
	}
	return m
}()

// Actions returns every registered audit action, grouped by area.
func Actions() []ActionInfo {
	out := make([]ActionInfo, len(actionRegistry))
	for i, a := range actionRegistry {
		a.Emitters = slices.Clone(a.Emitters)
		out[i] = a
	}
	return out
}

// LookupAction returns the registered action called name.
func LookupAction(name string) (ActionInfo, bool) {
	i, ok := actionIndex[name]
	if !ok {
		return ActionInfo{}, false
	}
	a := actionRegistry[i]
	a.Emitters = slices.Clone(a.Emitters)
	return a, true
}

// ActionRegistered reports whether name is a registered audit action.
func ActionRegistered(name string) bool {
	_, ok := actionIndex[name]
	return ok
}

// ActionsWithPrefix returns the registered actions whose names start with
// prefix ("dsr."), the completions of a family built at run time.
func ActionsWithPrefix(prefix string) []ActionInfo {
	var out []ActionInfo
	for _, a := range Actions() {
		if strings.HasPrefix(a.Name, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// ActionDescription returns what action records, or "" when it is not
// registered (an entry written by an older version, say).
func ActionDescription(action string) string {
	if i, ok := actionIndex[action]; ok {
		return actionRegistry[i].Description
	}
	return ""
}
