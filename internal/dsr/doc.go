// Package dsr is the workflow of data subject requests: a customer asks
// for access, an export, a correction, an erasure, a restriction or
// objects; staff verify, work and answer; jobs do the work and remind
// privacy officers of deadlines. The portal, the console and the jobs all
// go through this one service.
//
//	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: log})
//	hash, err := v.BlindIndex(ctx, "email", email)
//	r, err := requests.File(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR,
//		Email: email, EmailHash: hash})
//	r, err = requests.Verify(ctx, r.ID)            // the actor comes from audit.ActorFrom(ctx)
//	r, err = requests.Start(ctx, r.ID)
//	r, err = requests.Complete(ctx, r.ID, "")
//	mine, err := requests.ForRequester(ctx, hash, r.ID) // the portal: not found for anyone else
//	queue, err := requests.Queue(ctx, dsr.QueueFilter{}) // open requests, soonest deadline first
//	page, err := requests.Search(ctx, dsr.Filter{Closed: true, Limit: 100}) // the console and the API: filters, cursor pages
//
// # States
//
// A request is received, then verified (the requester is who they say),
// in_progress, and ends completed, rejected or cancelled. From received,
// verified or in_progress staff may ask the customer something
// (waiting_for_customer); the reply returns it to where it was asked from.
// Every change is a method with the states it is allowed from; any other is
// refused with a conflict that names the current state:
//
//	Verify            received                                  → verified
//	Start             verified                                  → in_progress
//	AskCustomer       received, verified, in_progress           → waiting_for_customer
//	CustomerReplied   waiting_for_customer                      → the state it was asked from
//	Answer            waiting_for_customer                      → the state it was asked from (the requester only)
//	Complete          in_progress                               → completed
//	Reject            any open state                            → rejected
//	Cancel            received, verified, waiting_for_customer  → cancelled (the requester only)
//	Extend, Acknowledge, AttachSubject, SetWaitingOn: any open state, state kept
//
// Extended is not a state. An extension changes when the answer is due,
// not where the work stands, and may come while the request is received,
// verified, in progress or waiting; as a state it would hide which of those
// it is (or need one extended state for each). It is recorded as an
// "extend" event with its reason and new deadline, and Request.ExtendedUntil
// and Request.Extended show it. A request is extended once, and only before
// its original deadline: both laws want the customer told within the first
// period.
//
// Cancel is the customer's: it takes the blind index of their email, so a
// request is withdrawn only by whoever filed it. It is refused once the
// work has begun (in_progress): an erasure half done cannot be undone by a
// click, and staff finish or reject it instead.
//
// Each change is one transaction: the request row (locked as it is read on
// PostgreSQL, so that a concurrent change waits and then meets this one's
// result), a dsr_events history row naming the actor, and an audit entry
// ("dsr.verify", target request:ID, details limited to kind, regime and
// states) written with AppendTx. If the audit entry cannot be written,
// nothing changes. Questions and reasons typed by staff are kept in the
// history, never in the audit log, which outlives erasure.
//
// # Deadlines
//
// Deadlines are computed once, on receipt, by Policies (see Period for the
// counting rules): under the GDPR one month, extendable by two more; under
// the CCPA an acknowledgement within 10 business days and an answer within
// 45 days, extendable by 45 more (15 business days, without extension, for
// objections and restrictions). A request is overdue when open past its
// deadline, and at risk when open and due within Policies.AtRiskMargin, or
// its acknowledgement is overdue.
//
// Waiting for the customer stops the clock where the law does
// (Policy.PauseWhileWaiting; by default the GDPR, not the CCPA, see
// DefaultPolicies): AskCustomer records when it stopped (PausedAt), while
// it stands the request is measured as of then (never overdue meanwhile),
// and the answer (Answer in the portal, CustomerReplied for one by other
// means) moves the deadline, and an extended one, on by the calendar days
// from the day of the question to the day of the answer. The history's
// customer_replied event holds the new deadline.
//
// # The thread
//
// Staff ask (AskCustomer: the question is the history's note and the
// portal shows it); the customer answers in the portal (Answer), sealed
// like the details and bound to the request; staff read the answers with
// Answers, which records the opening in the audit log first. Answers are
// needed for the work only: when the request closes (completed, rejected,
// cancelled) they are deleted in the closing transaction, so nothing the
// customer wrote outlives the request's answer (an erasure request's
// completion included). Actions lists what staff may do next, in the order
// of the work; Search is the queue with filters, search by id (in any
// state) and cursor pages.
//
// # Channel and language
//
// NewRequest.Channel records how a request came in: portal, or phone,
// email, letter or chat for one support filed on the customer's behalf
// (the API's POST /v1/requests); the audit entry of the filing names it.
// NewRequest.Language (en, de, fr, es) is the language the customer is
// written to in (package dsrmail sends those emails).
//
// # Personal data
//
// The requester's email and the details they wrote are sealed with the
// SecretBox, bound to the request, and opened only by Contact and Details,
// which record the opening in the audit log first; lists and queues never
// open them. The email's blind index (vault.BlindIndex) finds a customer's
// own requests. Filing seals before it writes, in Prepare, because sealing
// has a transaction of its own: FileTx files a prepared request in the
// caller's transaction, so that the portal enqueues the work in the same
// commit.
package dsr
