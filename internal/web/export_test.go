package web

import "net/http"

// Requirement tells whether h is a route's handler behind a subsystem
// (requires, consoleNeeds), which one and whether it is on.
func Requirement(h http.Handler) (subsystem string, on, ok bool) {
	q, ok := h.(*requirement)
	if !ok {
		return "", false, false
	}
	return q.subsystem, q.on, true
}
