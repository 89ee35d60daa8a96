package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// The event types. Each is declared in eventRegistry below, with what it
// tells, who emits it and the keys of its data: ids and states only. A new
// event type is added there by the issue that emits it; the OpenAPI
// document and docs/api.md are checked against the registry.
const (
	ConsentChanged          = "consent.changed"
	RequestCreated          = "request.created"
	RequestCompleted        = "request.completed"
	DisclosureRequested     = "disclosure.requested"
	DisclosureDecided       = "disclosure.decided"
	SubjectErased           = "subject.erased"
	SubjectRectified        = "subject.rectified"
	VendorAssessmentExpired = "vendor.assessment_expired"
	AuditCheckpoint         = "audit.checkpoint"
	InventoryDrift          = "inventory.drift"
	IncidentNotified        = "incident.notified"
)

// EventTypeInfo declares a webhook event type: its name, what it tells a
// receiver, the packages that emit it (paths in the module) and the keys
// its data may carry.
type EventTypeInfo struct {
	Name        string
	Description string
	Emitters    []string
	Fields      []string
}

// eventRegistry is every event type, in the order the console shows them.
// Only these are emitted (EmitTx refuses others) and subscribed to.
var eventRegistry = [...]EventTypeInfo{
	{ConsentChanged, "A consent was granted, denied or withdrawn (an entry of the consent ledger, by the banner, the portal, the preference centre, the API, GPC or an import).",
		[]string{"internal/outbox"}, []string{"seq", "property", "purpose", "action", "source", "event_id", "vendor", "device_id", "subject_id"}},
	{RequestCreated, "A data subject request was filed.",
		[]string{"internal/dsr"}, []string{"request_id", "kind", "state", "subject_id"}},
	{RequestCompleted, "A data subject request was completed (a rejection sends no event).",
		[]string{"internal/dsr"}, []string{"request_id", "kind", "state", "subject_id"}},
	{DisclosureRequested, "A system asked to share a subject's data with a vendor, and the customer's approval is needed.",
		[]string{"internal/disclosure"}, []string{"disclosure_id", "vendor", "purpose", "state", "subject_id"}},
	{DisclosureDecided, "A disclosure was allowed, blocked, approved, declined or expired.",
		[]string{"internal/disclosure"}, []string{"disclosure_id", "vendor", "purpose", "state", "subject_id"}},
	{SubjectErased, "A subject was erased: delete what your systems hold of them.",
		[]string{"internal/fulfil"}, []string{"request_id", "subject_id"}},
	{SubjectRectified, "A subject's data was corrected (GDPR Art. 19): the names of the fields changed, never their values, and the vendors that received the subject's data.",
		[]string{"internal/fulfil"}, []string{"request_id", "fields", "vendors", "subject_id"}},
	{VendorAssessmentExpired, "A vendor's security assessment lapsed.",
		[]string{"internal/assurance"}, []string{"vendor", "assessment_id"}},
	{AuditCheckpoint, "A checkpoint of the audit log was signed, for another system to keep as a witness.",
		[]string{"internal/outbox"}, []string{"origin", "size", "root", "signed_at", "key_id", "signature"}},
	{InventoryDrift, "A connected system holds a column that looks like personal data and that its dataset file does not declare: where it is, the category it suggests, and why (its name, or a share of sampled values; never a value). Sent once per new finding.",
		[]string{"internal/connector/drift"}, []string{"finding_id", "system", "table", "column", "category", "evidence", "match_ratio"}},
	{IncidentNotified, "A personal data breach may touch data the company shares with a vendor or processor: sent once per incident to each affected vendor, with the incident's id as the reference, its kind and the data categories shared with that vendor that it touched.",
		[]string{"internal/incident"}, []string{"incident_id", "vendor", "kind", "categories"}},
}

// EventTypes returns the known event types: the ones endpoints may
// subscribe to and EmitTx accepts.
func EventTypes() []string {
	out := make([]string, len(eventRegistry))
	for i, e := range eventRegistry {
		out[i] = e.Name
	}
	return out
}

// EventTypeInfos returns the registry of event types.
func EventTypeInfos() []EventTypeInfo {
	out := make([]EventTypeInfo, len(eventRegistry))
	for i, e := range eventRegistry {
		e.Emitters, e.Fields = slices.Clone(e.Emitters), slices.Clone(e.Fields)
		out[i] = e
	}
	return out
}

// LookupEventType returns the registered event type called t.
func LookupEventType(t string) (EventTypeInfo, bool) {
	for _, e := range EventTypeInfos() {
		if e.Name == t {
			return e, true
		}
	}
	return EventTypeInfo{}, false
}

// KnownEventType reports whether t is a known event type.
func KnownEventType(t string) bool {
	for _, e := range eventRegistry {
		if e.Name == t {
			return true
		}
	}
	return false
}

// Event is something that happened, to be sent to the endpoints that take
// its type.
type Event struct {
	Type string
	// SubjectID is Steward's id of the data subject the event is about, if
	// any; it is sent as data.subject_id.
	SubjectID string
	// Data are the event's facts: ids, states, kinds, times. Keys are
	// snake_case; values are strings without spaces or '@', numbers,
	// booleans, and lists and objects of those. No personal data: a
	// receiver fetches it through the API.
	Data map[string]any
	// At is when the event happened; zero means now.
	At time.Time
}

// Limits of an event's data.
const (
	// MaxPayloadBytes bounds a message body; Standard Webhooks advises
	// staying under 20 kB, and a thin payload needs far less.
	MaxPayloadBytes = 16 << 10
	maxValueBytes   = 256
	maxDepth        = 3
	maxListLen      = 100
)

var (
	keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// tokenPattern is what a string value may look like: an id, a state, a
	// time, a URL path. No spaces (free text is where names go), no '@'
	// (email addresses).
	tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_.:/+=~#,-]*$`)
	// phoneLike is an international phone number.
	phoneLike = regexp.MustCompile(`^\+[0-9]{6,}$`)
)

// forbiddenKeys are data keys that name personal data or secrets,
// compared without case, '_' and '-'.
var forbiddenKeys = map[string]bool{
	"email": true, "emailaddress": true, "mail": true, "phone": true, "phonenumber": true, "mobile": true,
	"name": true, "fullname": true, "firstname": true, "lastname": true, "surname": true, "username": true,
	"address": true, "postaladdress": true, "street": true, "postcode": true, "zip": true,
	"birthdate": true, "dateofbirth": true, "dob": true, "iban": true, "ssn": true, "nationalid": true,
	"passport": true, "ip": true, "ipaddress": true, "password": true, "secret": true, "token": true,
	"value": true, "plaintext": true,
}

// forbiddenParts make any key that contains them forbidden.
var forbiddenParts = [...]string{"email", "phone", "password", "secret", "plaintext"}

// payload is the body of a message, in the shape Standard Webhooks
// recommends.
type payload struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// encodeEvent checks e and returns its message body.
func encodeEvent(e Event, now time.Time) ([]byte, error) {
	if !KnownEventType(e.Type) {
		return nil, errs.Invalid("type", "unknown event type %q: declare it in internal/outbox/events.go", e.Type)
	}
	data, err := normaliseData(e.Data)
	if err != nil {
		return nil, err
	}
	if e.SubjectID != "" {
		if err := checkValue("subject_id", e.SubjectID); err != nil {
			return nil, err
		}
		if prior, ok := data["subject_id"]; ok && prior != e.SubjectID {
			return nil, errs.Invalid("data.subject_id", "differs from the event's SubjectID")
		}
		data["subject_id"] = e.SubjectID
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	body, err := json.Marshal(payload{Type: e.Type, Timestamp: at.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if len(body) > MaxPayloadBytes {
		return nil, errs.Invalid("data", "the payload is %d bytes, more than %d: send ids, not data", len(body), MaxPayloadBytes)
	}
	return body, nil
}

// normaliseData encodes data as JSON and reads it back, so that any Go
// value becomes maps, slices, strings, json.Numbers, booleans and nils,
// then checks every key and value.
func normaliseData(data map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(data) == 0 {
		return out, nil
	}
	encoded, err := json.Marshal(data)
	if err != nil {
		return nil, errs.Invalid("data", "cannot be encoded as JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(encoded))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, errs.Invalid("data", "must be a JSON object")
	}
	if err := checkTree("data", out, 1); err != nil {
		return nil, err
	}
	return out, nil
}

func checkTree(path string, v any, depth int) error {
	switch v := v.(type) {
	case map[string]any:
		if depth > maxDepth {
			return errs.Invalid(path, "nested deeper than %d levels", maxDepth)
		}
		for k, child := range v {
			if !keyPattern.MatchString(k) {
				return errs.Invalid(path, "key %q must be snake_case (a-z, 0-9, _), at most 64 characters", k)
			}
			if forbiddenKey(k) {
				return errs.Invalid(path+"."+k, "names personal data or a secret: payloads carry ids only")
			}
			if err := checkTree(path+"."+k, child, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if len(v) > maxListLen {
			return errs.Invalid(path, "at most %d items", maxListLen)
		}
		for i, child := range v {
			if err := checkTree(fmt.Sprintf("%s[%d]", path, i), child, depth+1); err != nil {
				return err
			}
		}
	case string:
		return checkValue(path, v)
	case json.Number, bool, nil:
	default:
		return errs.Invalid(path, "unsupported value")
	}
	return nil
}

// checkValue refuses string values that could be personal data: an email
// address, a phone number, free text.
func checkValue(path, v string) error {
	switch {
	case len(v) > maxValueBytes:
		return errs.Invalid(path, "at most %d bytes: payloads carry ids only", maxValueBytes)
	case strings.Contains(v, "@"):
		return errs.Invalid(path, "looks like an email address: payloads carry ids only")
	case phoneLike.MatchString(v):
		return errs.Invalid(path, "looks like a phone number: payloads carry ids only")
	case !tokenPattern.MatchString(v):
		return errs.Invalid(path, "must be an id or a state (letters, digits and _ . : / + = ~ # , -): payloads carry no free text")
	}
	return nil
}

func forbiddenKey(k string) bool {
	norm := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
	if forbiddenKeys[norm] {
		return true
	}
	for _, part := range forbiddenParts {
		if strings.Contains(norm, part) {
			return true
		}
	}
	return false
}

// normaliseTypes checks an endpoint's event types and returns them sorted
// without repeats; empty means all types. An unknown type goes under
// "event_types" in problems.
func normaliseTypes(types []string, problems errs.Problems) []string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		t = strings.TrimSpace(t)
		if !KnownEventType(t) {
			problems.Add("event_types", "unknown_event_type", "type", strconv.Quote(t), "known", strings.Join(EventTypes(), ", "))
			return nil
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// takes reports whether an endpoint subscribed to types takes events of
// type t.
func takes(types []string, t string) bool {
	return len(types) == 0 || slices.Contains(types, t)
}
