// Package httpsystem connects Steward to the company's systems that are not
// databases: for a data subject request, Steward calls the system's HTTP
// endpoint, signed per the Standard Webhooks scheme, and the system does
// the access or erasure in its own time and calls back, signed the same
// way, with the subject's data or a report of what it erased.
//
// An HTTP dataset file (YAML; see the README of internal/connector) names
// the system, its URL, the environment variable holding the shared secret,
// the operations it supports and the data categories it holds:
//
//	ds, err := httpsystem.ParseFile("crm.yaml") // every problem, with its line
//	hooks, err := httpsystem.New(httpsystem.Config{DB: store, Secrets: box, Datasets: []*httpsystem.Dataset{ds},
//		Getenv: os.Getenv, PublicURL: "https://privacy.shop.example"})
//	call, err := hooks.Start(ctx, ds, httpsystem.Erasure, requestID, ids) // on every attempt of the job
//	call, err = hooks.Correct(ctx, ds, requestID, ids, []httpsystem.Change{{Field: "contacts.phone", Value: "+44 20 7946 0000"}})
//	switch call.State {
//	case httpsystem.Pending: // snooze, and Start again later
//	case httpsystem.Done: // call.Report; for access, hooks.Data(ctx, call.ID)
//	case httpsystem.Failed, httpsystem.TimedOut: // reported once; the next Start calls anew
//	}
//
// # The call
//
// Start POSTs to the dataset's url, with Content-Type application/json and
// the headers webhook-id (the call's id, which stays the same when a call
// is delivered again), webhook-timestamp and webhook-signature:
//
//	{"type": "steward.erasure", "call_id": "whc_...", "request_id": "req_...",
//	 "subject": {"external_ids": ["1001"], "emails": ["ada@example.org"]},
//	 "callback_url": "https://privacy.shop.example/v1/connectors/crm/callback/whc_...",
//	 "deadline": "2026-12-01T09:00:00Z"}
//
// Correct makes the same call with type steward.correction and the new
// values, for fields the dataset file lists under correctable:
//
//	"changes": [{"field": "contacts.phone", "value": "+44 20 7946 0000"}]
//
// The values are in the signed call only, never stored with it.
//
// The system answers 202 (any 2xx) once it has taken the work on; a 5xx,
// 408, 425 or 429, a timeout or a network failure means "try again later"
// (errs.CodeUnavailable; the same call is delivered again on the next
// Start); a redirect or another 4xx fails the call (errs.CodeInvalid, or
// errs.CodeConflict for 409). Redirects are never followed.
//
// # The callback
//
// The system POSTs its answer to callback_url before the deadline, signed
// with the same secret, as JSON; unknown keys are refused:
//
//	access:  {"status": "done", "data": <any JSON: the subject's data>}
//	erasure: {"status": "done", "report": {"steps": [
//	           {"what": "contacts", "action": "deleted", "count": 1},
//	           {"what": "invoices", "action": "kept", "count": 3, "legal_reason": "tax law, 10 years"}]}}
//	correction: {"status": "done", "report": {"steps": [
//	           {"what": "contacts.phone", "action": "corrected", "count": 1},
//	           {"what": "contacts.fax", "action": "not_held", "count": 0}]}}
//	any:     {"status": "failed", "reason": "short text for Steward's staff"}
//
// A report names record types or fields (letters, digits, _ . - / :) and
// counts; action is deleted, anonymised or kept (kept needs legal_reason)
// for an erasure, corrected or not_held for a correction (whose steps name
// the dataset's correctable fields).
// Access data is sealed by the SecretBox, bound to the call, before it is
// stored, and Data opens it; DropData deletes it once it is in the archive.
//
// # The route
//
// The package makes no handler; the web layer routes
//
//	POST /v1/connectors/{name}/callback/{call}
//
// without Steward authentication (the signature is the authentication) and
// calls HandleCallback(ctx, r.PathValue("name"), r.PathValue("call"),
// r.Header, body), where body is the raw request body, read through
// io.LimitReader(r.Body, hooks.MaxCallbackBytes+1), so that a larger body
// reaches HandleCallback over the limit and is refused without being held
// whole, and never decoded first: the signature covers the exact bytes.
// Its errors map as usual: unauthorized 401, not_found 404, conflict 409 (a
// replay: the system should stop retrying), invalid 400, anything else 5xx
// (the system calls back again). Success is 204.
//
// # States
//
// A call is pending until the callback records it done or failed. A
// pending call read after its deadline is timed out; a callback may still
// complete it until the next Start gives up on it (storing timed_out) and
// calls anew. A failed or timed-out call is returned by Start once, so
// that the job can report that the request waits on the system and back
// off; the Start after that makes a new call.
package httpsystem
