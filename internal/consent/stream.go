package consent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/consentrules"
	"github.com/steward-dev/steward/internal/db"
)

// The kinds of decision stream entries.
const (
	StreamConsent  = "consent"  // a consent event: grant, deny, withdraw, object
	StreamLink     = "link"     // a device linked to a subject
	StreamRestrict = "restrict" // a restriction placed
	StreamLift     = "lift"     // a restriction lifted
	StreamErase    = "erase"    // a tombstone: the subject was erased
)

// StreamEntry is one decision-relevant change of the ledger as the
// decision stream sends it to a local Decider (client.Decider): no more
// than decisions need. Subjects and devices are named by their refs
// (consentrules.Ref: a hash of the id that tells nobody the id who does
// not know it already), never by id; nothing else of the event (property,
// jurisdiction, receipt, TCF or GPP strings, the device's signals) is
// sent.
type StreamEntry struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Subject string `json:"subject,omitempty"`
	Device  string `json:"device,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Action  Action `json:"action,omitempty"`
	// At is the event's time (Unix seconds): an import does not replace a
	// later state.
	At int64 `json:"at,omitempty"`
	// Notice is the ordinal of the notice the choice was made under.
	Notice int `json:"notice,omitempty"`
	// Imported marks an import; Portal the subject's own choice in the
	// portal (which alone ends their objection).
	Imported bool `json:"imported,omitempty"`
	Portal   bool `json:"portal,omitempty"`
}

// StreamPage is one read of the decision stream.
type StreamPage struct {
	Entries []StreamEntry `json:"entries"`
	// Next is the sequence number to resume after: the last entry's, or
	// the ledger's head when the page holds everything up to it.
	Next int64 `json:"next"`
	// Head is the ledger's sequence number when the page was read.
	Head int64 `json:"head"`
}

// Changed returns a channel closed at the index's next change: an append
// on this replica, or entries of other replicas the follower applied (the
// signal that wakes a waiting decision stream).
func (s *Service) Changed() <-chan struct{} { return s.index.Changed() }

// DecisionRules returns the decision-relevant part of the catalog with
// the gates as they are now, for a local Decider.
func (s *Service) DecisionRules(ctx context.Context) (consentrules.RulesDocument, error) {
	cat := s.catalog.load()
	doc := cat.rulesDocument()
	head, err := readHead(ctx, s.db)
	if err != nil {
		return doc, db.Classify(err)
	}
	doc.Seq = head.seq
	doc.Fingerprint = s.DecisionFingerprint()
	if snap := s.purposes.snapshot.Load(); snap != nil {
		for i := range doc.Purposes {
			doc.Purposes[i].OpenUntil = snap.byKey[doc.Purposes[i].Key]
		}
	}
	if snap := s.gate.snapshot.Load(); snap != nil {
		for i := range doc.Vendors {
			doc.Vendors[i].OpenUntil = snap.byKey[doc.Vendors[i].Key]
		}
	}
	return doc, nil
}

// DecisionFingerprint changes whenever the catalog or the gates do: a
// Decider reloads the rules when the stream's fingerprint is not the one
// it holds.
func (s *Service) DecisionFingerprint() string {
	sum := s.AssessedFingerprint()
	return strconv.FormatInt(s.catalog.load().version, 10) + "." + strconv.FormatUint(sum, 36)
}

// ReadDecisionStream reads the decision-relevant entries of the ledger
// after seq after: consent events, device links, restrictions placed and
// lifted, and erasures (tombstones), in sequence order, about limit of
// each kind at most. Events already pseudonymised by an erasure are left
// out (nobody can ask about a pseudonym); their sequence numbers are
// passed all the same.
func (s *Service) ReadDecisionStream(ctx context.Context, after int64, limit int) (StreamPage, error) {
	head, err := readHead(ctx, s.db)
	if err != nil {
		return StreamPage{}, db.Classify(err)
	}
	page := StreamPage{Head: head.seq, Next: max(after, head.seq), Entries: []StreamEntry{}}
	if after >= head.seq {
		return page, nil
	}
	// Each kind is read up to limit; when one fills its page, the stream
	// stops at its last entry, so that nothing of another kind before it
	// is missed and nothing after it is sent early.
	cut := head.seq
	full := func(n int, last int64) {
		if n >= limit && last < cut {
			cut = last
		}
	}
	cat := s.catalog.load()
	events, err := db.QueryAll(ctx, s.db, `SELECT seq, COALESCE(subject_id, ''), COALESCE(device_id, ''), purpose, vendor, action, at, notice_version, source
		FROM consent_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, []any{after, head.seq, limit},
		func(scan func(...any) error) (StreamEntry, error) {
			var e StreamEntry
			var subject, device, notice, source string
			var at int64
			if err := scan(&e.Seq, &subject, &device, &e.Purpose, &e.Vendor, &e.Action, &at, &notice, &source); err != nil {
				return e, err
			}
			e.Kind = StreamConsent
			switch {
			case strings.HasPrefix(subject, pseudonymPrefix):
				e.Kind = "" // erased: left out
			case subject != "":
				e.Subject = consentrules.Ref(subject)
			default:
				e.Device = consentrules.Ref(device)
			}
			e.At = int64(unixSeconds(fromMicros(at)))
			if n, ok := cat.notices[notice]; ok {
				e.Notice = n.Ordinal
			}
			e.Imported, e.Portal = source == string(SourceImport), source == string(SourcePortal)
			return e, nil
		})
	if err != nil {
		return StreamPage{}, db.Classify(fmt.Errorf("read ledger: %w", err))
	}
	if len(events) > 0 {
		full(len(events), events[len(events)-1].Seq)
	}
	links, err := db.QueryAll(ctx, s.db, `SELECT seq, device_id, subject_id FROM subject_devices
		WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, []any{after, head.seq, limit},
		func(scan func(...any) error) (StreamEntry, error) {
			var e StreamEntry
			var device, subject string
			err := scan(&e.Seq, &device, &subject)
			e.Kind, e.Device, e.Subject = StreamLink, consentrules.Ref(device), consentrules.Ref(subject)
			return e, err
		})
	if err != nil {
		return StreamPage{}, db.Classify(fmt.Errorf("read links: %w", err))
	}
	if len(links) > 0 {
		full(len(links), links[len(links)-1].Seq)
	}
	restrictions, err := db.QueryAll(ctx, s.db, `SELECT r.seq, r.subject_id, r.purpose, r.action FROM consent_restrictions r
		WHERE r.seq > $1 AND r.seq <= $2
		AND NOT EXISTS (SELECT 1 FROM consent_erasures e WHERE e.subject_id = r.subject_id AND e.seq > r.seq)
		ORDER BY r.seq LIMIT $3`, []any{after, head.seq, limit}, func(scan func(...any) error) (StreamEntry, error) {
		var e StreamEntry
		var subject, action string
		err := scan(&e.Seq, &subject, &e.Purpose, &action)
		e.Kind, e.Subject = StreamRestrict, consentrules.Ref(subject)
		if action == restrictLift {
			e.Kind = StreamLift
		}
		return e, err
	})
	if err != nil {
		return StreamPage{}, db.Classify(fmt.Errorf("read restrictions: %w", err))
	}
	if len(restrictions) > 0 {
		full(len(restrictions), restrictions[len(restrictions)-1].Seq)
	}
	erasures, err := db.QueryAll(ctx, s.db, `SELECT seq, subject_id FROM consent_erasures WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
		[]any{after, head.seq, limit}, func(scan func(...any) error) (StreamEntry, error) {
			var e StreamEntry
			var subject string
			err := scan(&e.Seq, &subject)
			e.Kind, e.Subject = StreamErase, consentrules.Ref(subject)
			return e, err
		})
	if err != nil {
		return StreamPage{}, db.Classify(fmt.Errorf("read erasures: %w", err))
	}
	if len(erasures) > 0 {
		full(len(erasures), erasures[len(erasures)-1].Seq)
	}
	page.Next = cut
	for _, list := range [][]StreamEntry{events, links, restrictions, erasures} {
		for _, e := range list {
			if e.Seq <= cut && e.Kind != "" {
				page.Entries = append(page.Entries, e)
			}
		}
	}
	sortEntries(page.Entries)
	return page, nil
}

func sortEntries(entries []StreamEntry) {
	slices.SortFunc(entries, func(a, b StreamEntry) int { return cmp.Compare(a.Seq, b.Seq) })
}
