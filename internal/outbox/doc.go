// Package outbox sends webhooks to the company's systems when something
// happens in Steward (a consent changed, a request was filed or completed,
// a subject was erased...), reliably and signed per Standard Webhooks 1.0.
//
// Staff register endpoints (a URL, the event types it wants, a whsec_
// secret shown once). A domain service that changes data emits the event
// in the transaction of the change; the outbox writes one message per
// matching endpoint and the job that delivers it in that same transaction,
// so that a change that rolls back sends nothing and a change that commits
// is sent even if the process stops right after:
//
//	hooks, err := outbox.New(outbox.Config{DB: store, Secrets: box, Audit: log})
//	if err != nil { ... }
//	workers := jobs.NewWorkers()
//	if err := hooks.Register(workers); err != nil { ... }
//	runner, err := jobs.Open(ctx, jobs.Config{DB: store, Workers: workers, ...})
//	if err != nil { ... }
//	hooks.UseJobs(runner)
//
//	ep, secret, err := hooks.CreateEndpoint(ctx, outbox.Endpoint{URL: "https://crm.shop.example/steward",
//		EventTypes: []string{outbox.ConsentChanged}}) // secret: show it once
//
//	err = store.Tx(ctx, func(tx *sql.Tx) error {
//		if err := appendConsent(ctx, tx, ev); err != nil {
//			return err
//		}
//		_, err := hooks.EmitTx(ctx, tx, outbox.Event{Type: outbox.ConsentChanged, SubjectID: ev.SubjectID,
//			Data: map[string]any{"purpose": ev.Purpose, "receipt_id": ev.ReceiptID}})
//		return err
//	})
//
// # What is sent
//
// A POST of the message's JSON payload, the same bytes on every attempt:
//
//	{"data":{"purpose":"analytics","receipt_id":"rcpt_...","subject_id":"sub_..."},
//	 "timestamp":"2026-11-28T09:00:00.123456Z","type":"consent.changed"}
//
// with the headers webhook-id (the message id, msg_..., the same on every
// attempt and replay: the receiver's idempotency key), webhook-timestamp
// (the attempt's time, Unix seconds) and webhook-signature ("v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body" under the endpoint's secret;
// during a secret rotation, space-separated signatures under the new and
// the old secret). Payloads are thin: ids and types only, never personal
// data, so that a receiver fetches what it needs through Steward's audited
// API. EmitTx refuses data that looks like personal data.
//
// # Delivery
//
// A River job (kind webhook.deliver, args: the message id only) posts the
// message with a timeout (10 s), without following redirects, through a
// dialer that refuses internal addresses (see below). Only a 2xx answer
// delivers. A 410 Gone disables the endpoint and dead-letters its message
// and every other message still pending for it: the receiver said it wants
// nothing more, and sending the backlog would only collect more 410s. A
// 429 or 503 with Retry-After (seconds or an HTTP date) waits that long,
// at least Backoff.Base and at most Backoff.MaxRetryAfter. Anything else
// (another status, a timeout, a refused connection) is retried with
// exponential back-off and jitter (Backoff) until Backoff.Horizon (3 days)
// after the first attempt; the message is then a dead letter. Disabling an
// endpoint (staff, or a 410) dead-letters its pending messages at once; a
// message emitted in a transaction that read the endpoint as enabled just
// before is dead-lettered unsent when its job runs. A message delivered
// while its endpoint was being disabled counts as delivered: the receiver
// has it.
// Every attempt is recorded: time, duration, status or error class, and
// for a refusal a short snippet of the answer, truncated and with anything
// like an email address masked.
//
// The back-off is the outbox's own, applied with jobs.Snooze rather than
// by failing the job: River's attempts and error log stay for faults of
// Steward itself (the store down), and the outbox's record of attempts is
// the one staff read. Outcomes are written with group commit (one
// transaction for the attempts that end together), so that SQLite's flush
// per commit does not cap the delivery rate. Dead letters are listed by
// DeadLetters and sent again, with the same webhook-id, by Replay or
// ReplayDead. Delivery is at least once: a receiver whose 2xx was lost
// gets the message again, with the same webhook-id, and must use it to
// skip what it has seen. Purge deletes settled messages after a
// retention.
//
// # Server-side request forgery
//
// An endpoint's URL must be https, and its host must resolve to public
// addresses only: loopback, private (RFC 1918, RFC 4193), link-local,
// shared (100.64.0.0/10), unspecified, multicast and reserved addresses are
// refused, and cloud metadata addresses (169.254.169.254, fd00:ec2::254,
// 100.100.100.200) always. The check runs when the URL is saved and again
// at every delivery, inside the dialer: the connection goes to the address
// that was checked, so a DNS answer that changes between check and dial
// cannot reach an internal address. Config.AllowHosts lets an operator
// allow host names, addresses or ranges (and plain http to them), for an
// internal receiver or for tests on 127.0.0.1.
//
// # The routes
//
// The package makes no handler. The console and the admin API call
// CreateEndpoint, UpdateEndpoint, RotateSecret, DeleteEndpoint, Endpoints,
// Endpoint, Messages, Message, DeadLetters, Replay and ReplayDead; their
// errors carry internal/errs codes. Changes to endpoints and replays are
// recorded in the audit log with the actor of the context
// (audit.ActorFrom).
package outbox
