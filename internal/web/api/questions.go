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

// questionParser reads a body of questions in the plainest JSON; ok is
// false as soon as it meets anything else.
type questionParser struct {
	b  string // the body, copied once: every field is a slice of it
	i  int
	ok bool
}

// parseQuestions appends to into[:0] the questions of body, when body is
// one object with the one member "questions", an array of at most
// MaxQuestions objects whose members are a question's fields (each at most
// once) with string values of printable ASCII without escapes, or, for
// "gpc", true or false. It reports false for any other body.
func parseQuestions(body []byte, into []consent.Question) ([]consent.Question, bool) {
	p := questionParser{b: string(body), ok: true}
	questions := into[:0]
	p.expect('{')
	if p.name() != "questions" {
		return nil, false
	}
	p.expect(':')
	p.expect('[')
	if p.peek() == ']' {
		p.i++
	} else {
		for p.ok {
			if len(questions) == MaxQuestions {
				return nil, false
			}
			questions = append(questions, consent.Question{})
			p.question(&questions[len(questions)-1])
			if p.peek() == ',' {
				p.i++
				continue
			}
			p.expect(']')
			break
		}
	}
	p.expect('}')
	p.space()
	if !p.ok || p.i != len(p.b) {
		return nil, false
	}
	if len(questions) == 0 {
		return nil, true // as DecodeBatch gives for an empty array
	}
	return questions, true
}

func (p *questionParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (p *questionParser) peek() byte {
	p.space()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *questionParser) expect(c byte) {
	if p.ok && p.peek() == c {
		p.i++
		return
	}
	p.ok = false
}

// str reads a string of printable ASCII without escapes, as a slice of
// the body.
func (p *questionParser) str() string {
	if !p.ok || p.peek() != '"' {
		p.ok = false
		return ""
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			p.i = j + 1
			return p.b[start:j]
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			break
		}
	}
	p.ok = false
	return ""
}

// name reads a member name: only the fields' own spelling (encoding/json
// would also take other cases, which go to it).
func (p *questionParser) name() string {
	switch s := p.str(); s {
	case "questions", "subject", "device", "purpose", "channel", "vendor", "jurisdiction", "property", "gpc":
		return s
	}
	p.ok = false
	return ""
}

func (p *questionParser) question(q *consent.Question) {
	p.expect('{')
	if p.peek() == '}' {
		p.i++
		return
	}
	var seen uint16
	for p.ok {
		field := p.name()
		p.expect(':')
		var bit uint16
		switch field {
		case "subject":
			bit, q.Subject = 1<<0, p.str()
		case "device":
			bit, q.Device = 1<<1, p.str()
		case "purpose":
			bit, q.Purpose = 1<<2, p.str()
		case "channel":
			bit, q.Channel = 1<<3, consent.Channel(p.str())
		case "vendor":
			bit, q.Vendor = 1<<4, p.str()
		case "jurisdiction":
			bit, q.Jurisdiction = 1<<5, p.str()
		case "property":
			bit, q.Property = 1<<6, p.str()
		case "gpc":
			bit, q.GPC = 1<<7, p.boolean()
		default:
			p.ok = false
		}
		if seen&bit != 0 {
			p.ok = false // encoding/json keeps the last; leave that to it
		}
		seen |= bit
		if p.peek() == ',' {
			p.i++
			continue
		}
		p.expect('}')
		return
	}
}

func (p *questionParser) boolean() bool {
	p.space()
	rest := p.b[min(p.i, len(p.b)):]
	switch {
	case len(rest) >= 4 && rest[:4] == "true":
		p.i += 4
		return true
	case len(rest) >= 5 && rest[:5] == "false":
		p.i += 5
		return false
	}
	p.ok = false
	return false
}
