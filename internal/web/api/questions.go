package api

import (
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// decodeQuestions decodes the body of POST /v1/decisions. The body a
// back end sends, {"questions":[{"device":"...","purpose":"..."},...]}, is
// read by hand (parseQuestions): encoding/json's decoder took a third of a
// decision's time. Whatever the hand-written reader does not take for
// certain (an escape, a byte outside printable ASCII, a name in another
// case, a null, a repeated or unknown field, an oversized batch, malformed
// JSON) goes to httpx.DecodeBatch, so that every answer to an unusual body,
// and every problem, is the one encoding/json gives.
func decodeQuestions(body []byte, into []consent.Question) ([]consent.Question, error) {
	if questions, ok := parseQuestions(body, into); ok {
		return questions, nil
	}
	return httpx.DecodeBatch[consent.Question](body, "questions", MaxQuestions)
}

// parseQuestions appends to into[:0] the questions of body when
// readPlainBatch takes it, and reports whether it did.
func parseQuestions(body []byte, into []consent.Question) ([]consent.Question, bool) {
	return readPlainBatch(body, "questions", MaxQuestions, into, setQuestionField)
}

// setQuestionField reads the value of the member name into q and returns
// the field's bit, or 0 for a name that is not a question's field.
func setQuestionField(q *consent.Question, name string, p *plainReader) uint32 {
	switch name {
	case "subject":
		q.Subject = p.str()
		return 1 << 0
	case "device":
		q.Device = p.str()
		return 1 << 1
	case "purpose":
		q.Purpose = p.str()
		return 1 << 2
	case "channel":
		q.Channel = consent.Channel(p.str())
		return 1 << 3
	case "vendor":
		q.Vendor = p.str()
		return 1 << 4
	case "jurisdiction":
		q.Jurisdiction = p.str()
		return 1 << 5
	case "property":
		q.Property = p.str()
		return 1 << 6
	case "gpc":
		q.GPC = p.boolean()
		return 1 << 7
	}
	return 0
}

// decodeEvents decodes the body of POST /v1/consent/events as
// decodeQuestions does: the plain body the banner sends by hand, any other
// through httpx.DecodeBatch. An event with a time ("at") goes to
// DecodeBatch, which checks it.
func decodeEvents(body []byte) ([]eventInput, error) {
	if events, ok := readPlainBatch(body, "events", consent.MaxBatch, nil, setEventField); ok {
		return events, nil
	}
	return httpx.DecodeBatch[eventInput](body, "events", consent.MaxBatch)
}

// setEventField is setQuestionField for an event.
func setEventField(e *eventInput, name string, p *plainReader) uint32 {
	switch name {
	case "id":
		e.ID = p.str()
		return 1 << 0
	case "property":
		e.Property = p.str()
		return 1 << 1
	case "device":
		e.Device = p.str()
		return 1 << 2
	case "subject":
		e.Subject = p.str()
		return 1 << 3
	case "purpose":
		e.Purpose = p.str()
		return 1 << 4
	case "vendor":
		e.Vendor = p.str()
		return 1 << 5
	case "action":
		e.Action = consent.Action(p.str())
		return 1 << 6
	case "source":
		e.Source = consent.Source(p.str())
		return 1 << 7
	case "notice_version":
		e.NoticeVersion = p.str()
		return 1 << 8
	case "jurisdiction":
		e.Jurisdiction = p.str()
		return 1 << 9
	case "gpc":
		e.GPC = p.boolean()
		return 1 << 10
	case "dnt":
		e.DNT = p.boolean()
		return 1 << 11
	case "tc_string":
		e.TCString = p.str()
		return 1 << 12
	case "gpp_string":
		e.GPPString = p.str()
		return 1 << 13
	case "channel":
		e.Channel = consent.Channel(p.str())
		return 1 << 14
	}
	return 0
}
