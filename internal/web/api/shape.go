package api

import (
	"net/http"

	"github.com/steward-dev/steward/internal/web/httpx"
)

// answer is the handler of a route that reads no body: it calls do and
// writes what do returns with status, or the problem do's error names.
func answer[Out any](d *Deps, status int, do func(r *http.Request) (Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := do(r)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, status, out)
	})
}

// answerBody is the handler of a route that takes a JSON body: it decodes
// the body as In (at most limit bytes; a bad body is a problem naming the
// field at fault), calls do and writes what do returns with status.
func answerBody[In, Out any](d *Deps, limit int64, status int, do func(r *http.Request, in In) (Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[In](w, r, limit)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		out, err := do(r, in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, status, out)
	})
}

// items wraps a collection as list does, an empty list for nil.
func items[T any](s []T) list[T] { return list[T]{Items: orEmpty(s)} }

// orEmpty is s, or an empty slice for nil (JSON [] rather than null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
