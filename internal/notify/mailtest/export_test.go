package mailtest

// OnBlocked tells f each time WaitFor has found nothing and starts to
// wait, so that a test can send exactly then.
func (s *Server) OnBlocked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = f
}
