package httpsystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// callbackBody is what a system sends back. Unknown keys are refused, so
// that an erasure report cannot carry values beside its counts.
type callbackBody struct {
	Status string          `json:"status"` // done or failed
	Data   json.RawMessage `json:"data"`   // access, done: any JSON
	Report *ErasureReport  `json:"report"` // erasure, correction: required when done
	Reason string          `json:"reason"` // failed: why, for staff
}

// MaxReportBytes bounds the callback of an erasure or correction call,
// whatever MaxCallbackBytes says: a report holds counts and short reasons,
// not data.
const MaxReportBytes = 64 << 10

// PrepareCallback checks a callback before its body is read, so that a
// caller who cannot sign does not get to send (and make Steward hold) up to
// MaxCallbackBytes: the connector must be known, its secret configured, the
// headers well formed with a fresh timestamp and a v1 signature
// (CheckHeaders), and the call known, of this connector and still open. It
// returns the most bytes the callback's body may hold: MaxReportBytes for
// an erasure, MaxCallbackBytes for access data. The errors are those of
// HandleCallback; the signature itself is verified there, over the body.
//
// A caller with fresh, well-formed headers learns whether a call id exists
// before its signature is verified: call ids are 128 random bits, known
// only to Steward and the system called.
func (s *Service) PrepareCallback(ctx context.Context, name, callID string, header http.Header) (int64, error) {
	_, _, limit, err := s.prepare(ctx, name, callID, header)
	return limit, err
}

func (s *Service) prepare(ctx context.Context, name, callID string, header http.Header) (call Call, secret string, limit int64, err error) {
	ds, ok := s.datasets[name]
	if !ok {
		return Call{}, "", 0, errs.NotFound("connector", name)
	}
	secret, err = ds.Secret(s.Getenv)
	if err != nil {
		// Steward's configuration is at fault, not the system's callback:
		// a 5xx, so that the system calls back again later.
		return Call{}, "", 0, errs.Wrap(errs.CodeInternal, err, fmt.Sprintf("connector %s: its webhook secret is not configured", name))
	}
	if err := CheckHeaders(header, s.Now()); err != nil {
		return Call{}, "", 0, err
	}
	call, err = s.Call(ctx, callID)
	if err != nil {
		return Call{}, "", 0, err
	}
	if call.Connector != name {
		return Call{}, "", 0, errs.NotFound("connector call", callID)
	}
	if call.State != Pending && !(call.State == TimedOut && call.CompletedAt.IsZero()) {
		return Call{}, "", 0, errs.New(errs.CodeConflict, "call %s was answered already (%s)", callID, call.State)
	}
	limit = s.MaxCallbackBytes
	if call.Operation != Access && limit > MaxReportBytes {
		limit = MaxReportBytes
	}
	return call, secret, limit, nil
}

// HandleCallback records a system's answer to a call. name and callID
// come from the callback URL's path, header and body from the request as
// received (the body's raw bytes: the signature covers them exactly). A
// receiver calls PrepareCallback first and reads at most the bytes it
// allows.
//
// The callback must be signed with the connector's secret (Verify); the
// call must exist, belong to the connector, and be pending (a pending call
// past its deadline is still answered, as long as Start has not given up
// on it: an erasure done late is still an erasure to record). Errors:
// errs.CodeUnauthorized for headers or a signature that do not verify,
// errs.CodeNotFound for an unknown connector or call (or a call of another
// connector), errs.CodeConflict for a call answered already (a replay),
// errs.CodeInvalid for a body that is too big or not as described in the
// package comment. Nothing is recorded unless it returns nil.
func (s *Service) HandleCallback(ctx context.Context, name, callID string, header http.Header, body []byte) error {
	call, secret, limit, err := s.prepare(ctx, name, callID, header)
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return errs.Invalid("body", "the callback is larger than %d bytes", limit)
	}
	if err := Verify(secret, header, body, s.Now()); err != nil {
		return err
	}
	answer, err := decodeCallback(body, call.Operation, s.datasets[name])
	if err != nil {
		return err
	}
	var (
		state           = Failed
		failure, report any
		sealed          any // NULL unless there is data
		dataBytes       any
	)
	if answer.Status == string(Done) {
		state = Done
	} else {
		failure = "the system reported a failure"
		if answer.Reason != "" {
			failure = "the system reported a failure: " + answer.Reason
		}
	}
	if answer.Report != nil {
		raw, err := json.Marshal(answer.Report)
		if err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
		report = string(raw)
	}
	if answer.Data != nil {
		// Sealed before the update, outside any transaction of ours: the
		// box writes its key in a transaction of its own.
		box, err := s.Secrets.Seal(ctx, answer.Data, dataAAD(name, callID))
		if err != nil {
			return fmt.Errorf("seal data of call %s: %w", callID, err)
		}
		sealed = box
		dataBytes = int64(len(answer.Data))
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE webhook_calls SET state = $3, completed_at = $4, failure = $5, report = $6, data_sealed = $7, data_bytes = $8
		WHERE id = $1 AND connector = $2 AND state = $9`,
		callID, name, string(state), s.now().UnixMicro(), failure, report, sealed, dataBytes, string(Pending))
	if err != nil {
		return db.Classify(fmt.Errorf("record callback: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Another callback, or Start giving up, came in between.
		return errs.New(errs.CodeConflict, "call %s was answered already", callID)
	}
	return nil
}

// decodeCallback reads and checks a callback body for a call of op to the
// system of ds.
func decodeCallback(body []byte, op Operation, ds *Dataset) (callbackBody, error) {
	var answer callbackBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&answer); err != nil {
		return answer, errs.Invalid("body", "not the JSON of a callback: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return answer, errs.Invalid("body", "more than one JSON value")
	}
	problems := map[string]string{}
	switch answer.Status {
	case string(Done), string(Failed):
	default:
		problems["status"] = "want done or failed"
	}
	done := answer.Status == string(Done)
	if len(answer.Reason) > maxReasonBytes {
		problems["reason"] = fmt.Sprintf("at most %d bytes", maxReasonBytes)
	}
	if done && answer.Reason != "" {
		problems["reason"] = "reason only goes with failed"
	}
	switch op {
	case Access:
		switch {
		case answer.Report != nil:
			problems["report"] = "an access call is answered with data, not a report"
		case done && answer.Data == nil:
			problems["data"] = "give the subject's data (any JSON; [] or {} when the system holds none)"
		case !done && answer.Data != nil:
			problems["data"] = "data only goes with done"
		}
	case Erasure:
		switch {
		case answer.Data != nil:
			problems["data"] = "an erasure call is answered with a report, not data"
		case done && answer.Report == nil:
			problems["report"] = `give the report of what was erased: {"steps": [...]}, or {"steps": []} when nothing was`
		case answer.Report != nil:
			for field, problem := range answer.Report.valid() {
				problems[field] = problem
			}
		}
	case Correction:
		switch {
		case answer.Data != nil:
			problems["data"] = "a correction call is answered with a report, not data"
		case done && answer.Report == nil:
			problems["report"] = `give the report of what was corrected: {"steps": [{"what": FIELD, "action": "corrected" or "not_held", "count": N}]}`
		case answer.Report != nil:
			for field, problem := range answer.Report.validCorrection(ds) {
				problems[field] = problem
			}
		}
	}
	if len(problems) > 0 {
		return answer, errs.Fields(problems)
	}
	return answer, nil
}
