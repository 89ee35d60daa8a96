package api

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// MaxQuestions is the most questions one decision request may ask.
const MaxQuestions = 1000

// bufPool holds the answers' buffers of the consent events route.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// decideScratch is the memory one decision request reuses: its body, its
// questions (whose strings are copied out of the body), its answers and the
// answer's JSON.
type decideScratch struct {
	body      []byte
	questions []consent.Question
	answers   []consent.Answer
	out       []byte
}

var decidePool = sync.Pool{New: func() any {
	return &decideScratch{body: make([]byte, 0, 512), questions: make([]consent.Question, 0, 16),
		answers: make([]consent.Answer, 0, 16), out: make([]byte, 0, 256)}
}}

// The answer's headers, shared by every answer and never changed (a slice
// of length and capacity 1: an Add would copy it): assigned straight into
// the header map, they cost neither a canonicalisation nor an allocation.
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// chunkingThreshold is the size up to which net/http declares an answer's
// Content-Length itself: it buffers that much (2 KiB) before it writes
// the head, and a handler that has returned by then has given the whole
// answer.
const chunkingThreshold = 2048

// HandleDecide answers 1 to 1,000 questions in order from the in-memory
// index. "Sec-GPC: 1" on the request applies to every question.
func (d *Deps) HandleDecide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := decidePool.Get().(*decideScratch)
		defer decidePool.Put(sc)
		body, err := httpx.ReadBodyInto(w, r, batchMax, sc.body)
		if cap(body) <= 64<<10 {
			sc.body = body[:0] // the questions are copied out of it; a batch's body (up to 2 MB) is not kept
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		// Refused at the 1,001st question, so that a body of tiny questions
		// takes no more memory than a full batch.
		questions, err := decodeQuestions(body, sc.questions)
		if cap(questions) > cap(sc.questions) {
			sc.questions = questions[:0]
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		n := len(questions)
		if n == 0 {
			d.fail(w, r, errs.Invalid("questions", "ask 1 to %d questions", MaxQuestions))
			return
		}
		if cap(sc.answers) < n {
			sc.answers = make([]consent.Answer, n)
		}
		answers := sc.answers[:n] // DecideAll sets every answer
		// "Sec-Gpc", the canonical spelling: looking "Sec-GPC" up would
		// canonicalise it again, with an allocation, on every request.
		if err := d.Consent.Decider().DecideAll(questions, r.Header.Get("Sec-Gpc") == "1", answers); err != nil {
			d.fail(w, r, err)
			return
		}
		if d.ObserveAnswers != nil {
			d.ObserveAnswers(answers)
		}
		buf := appendAnswers(sc.out[:0], answers)
		sc.out = buf
		// Six security headers and these two: eight, which a Go map holds
		// without a table of its own; net/http copies the map on every
		// answer. A short answer's length is declared by net/http itself.
		h := w.Header()
		h["Content-Type"] = jsonContentType
		h["Cache-Control"] = noStore
		if len(buf) > chunkingThreshold {
			h["Content-Length"] = []string{strconv.Itoa(len(buf))}
		}
		_, _ = w.Write(buf)
	})
}

// appendAnswers writes {"answers":[...]} by hand: the decision path is the
// hottest in Steward and reflection-based encoding would dominate it.
func appendAnswers(buf []byte, answers []consent.Answer) []byte {
	buf = append(buf, `{"answers":[`...)
	for i, a := range answers {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"allowed":`...)
		buf = strconv.AppendBool(buf, a.Allowed)
		buf = append(buf, `,"reason":"`...)
		buf = append(buf, a.Reason...) // reasons are fixed ASCII words
		buf = append(buf, `","event":`...)
		if a.Event == 0 {
			buf = append(buf, "null"...)
		} else {
			buf = strconv.AppendInt(buf, a.Event, 10)
		}
		buf = append(buf, '}')
	}
	return append(buf, "]}\n"...)
}
