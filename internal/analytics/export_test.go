package analytics

// TableForTest is the table an aggregate on dims reads.
var TableForTest = table

// SetMinGroupForTest sets the fewest choices a figure may count, for
// tests of exact figures over a handful of events.
func (s *Service) SetMinGroupForTest(n int64) { s.minGroup = n }
