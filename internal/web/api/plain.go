package api

// plainReader reads the plainest JSON of a batch body by hand, for the hot
// routes (decisions, consent events), where encoding/json's decoder took a
// third of a request's time. ok turns false as soon as it meets anything
// else; the caller then decodes the body with httpx.DecodeBatch, so that
// every answer to an unusual body, and every problem, is encoding/json's.
type plainReader struct {
	b  string // the body, copied once: every field is a slice of it
	i  int
	ok bool
}

// readPlainBatch appends to into[:0] the elements of body, when body is one
// object with the one member field, an array of at most max objects whose
// members are fields that set knows (each at most once, in its own
// spelling: encoding/json would also match other cases), with string
// values of printable ASCII without escapes, or true or false. set reads a
// member's value and returns the field's bit, or 0 for an unknown name. It
// reports false for any other body, and returns nil for an empty array,
// as DecodeBatch does.
func readPlainBatch[T any](body []byte, field string, max int, into []T, set func(*T, string, *plainReader) uint32) ([]T, bool) {
	p := plainReader{b: string(body), ok: true}
	items := into[:0]
	p.expect('{')
	if p.str() != field {
		return nil, false
	}
	p.expect(':')
	p.expect('[')
	if p.peek() == ']' {
		p.i++
	} else {
		for p.ok {
			if len(items) == max {
				return nil, false
			}
			var zero T
			items = append(items, zero)
			readObject(&p, &items[len(items)-1], set)
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
	if len(items) == 0 {
		return nil, true
	}
	return items, true
}

func (p *plainReader) space() {
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
func (p *plainReader) peek() byte {
	p.space()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *plainReader) expect(c byte) {
	if p.ok && p.peek() == c {
		p.i++
		return
	}
	p.ok = false
}

// str reads a string of printable ASCII without escapes.
func (p *plainReader) str() string {
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

func (p *plainReader) boolean() bool {
	if !p.ok {
		return false
	}
	p.space()
	rest := p.b[p.i:]
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

// readObject reads one element into item.
func readObject[T any](p *plainReader, item *T, set func(*T, string, *plainReader) uint32) {
	p.expect('{')
	if p.peek() == '}' {
		p.i++
		return
	}
	var seen uint32
	for p.ok {
		name := p.str()
		p.expect(':')
		bit := uint32(0)
		if p.ok {
			bit = set(item, name, p)
		}
		if bit == 0 || seen&bit != 0 {
			p.ok = false // unknown, or repeated (encoding/json keeps the last): leave it to encoding/json
			return
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
