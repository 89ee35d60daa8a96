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

var answerPool = sync.Pool{New: func() any { s := make([]consent.Answer, 0, 16); return &s }}
var questionPool = sync.Pool{New: func() any { s := make([]consent.Question, 0, 16); return &s }}
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// HandleDecide answers 1 to 1,000 questions in order from the in-memory
// index. "Sec-GPC: 1" on the request applies to every question.
func (d *Deps) HandleDecide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bodyPtr := bodyPool.Get().(*[]byte)
		defer bodyPool.Put(bodyPtr)
		body, err := httpx.ReadBodyInto(w, r, batchMax, *bodyPtr)
		if cap(body) <= 64<<10 {
			*bodyPtr = body[:0] // the questions are copied out of it; a batch's body (up to 2 MB) is not kept
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		// Refused at the 1,001st question, so that a body of tiny questions
		// takes no more memory than a full batch.
		questionsPtr := questionPool.Get().(*[]consent.Question)
		defer questionPool.Put(questionsPtr)
		questions, err := decodeQuestions(body, *questionsPtr)
		if cap(questions) > cap(*questionsPtr) {
			*questionsPtr = questions[:0]
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
		answersPtr := answerPool.Get().(*[]consent.Answer)
		defer answerPool.Put(answersPtr)
		answers := *answersPtr
		if cap(answers) < n {
			answers = make([]consent.Answer, n)
		}
		answers = answers[:n] // DecideAll sets every answer
		*answersPtr = answers
		if err := d.Consent.Decider().DecideAll(questions, r.Header.Get("Sec-GPC") == "1", answers); err != nil {
			d.fail(w, r, err)
			return
		}
		if d.ObserveAnswers != nil {
			d.ObserveAnswers(answers)
		}
		bufPtr := bufPool.Get().(*[]byte)
		defer bufPool.Put(bufPtr)
		buf := appendAnswers((*bufPtr)[:0], answers)
		*bufPtr = buf
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
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
