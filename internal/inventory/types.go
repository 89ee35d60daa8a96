package inventory

import "time"

// SystemKind says what a system of the map is.
type SystemKind string

// The kinds of system.
const (
	// KindVault is Steward's vault of sealed fields.
	KindVault SystemKind = "vault"
	// KindLedger is Steward's consent ledger.
	KindLedger SystemKind = "ledger"
	// KindArchives are Steward's access and portability archives.
	KindArchives SystemKind = "archives"
	// KindDatabase is a company database declared by a dataset file.
	KindDatabase SystemKind = "database"
	// KindHTTP is a company system reached over HTTP.
	KindHTTP SystemKind = "http"
)

// The keys of Steward's own systems. Connector names cannot hold a dot,
// so these never collide with a connected system.
const (
	SystemVault    = "steward.vault"
	SystemLedger   = "steward.ledger"
	SystemArchives = "steward.archives"
)

// Map is the data map: every system with what it holds and why, every
// category with where it lives and who receives it, every purpose and
// every recipient.
type Map struct {
	Systems    []System    `json:"systems"`
	Categories []Category  `json:"categories"`
	Purposes   []Purpose   `json:"purposes"`
	Recipients []Recipient `json:"recipients"`
	// Gaps are what the map lacks that a privacy officer should add.
	Gaps []Gap `json:"gaps"`
}

// System is a place that holds personal data.
type System struct {
	Key  string     `json:"key"`
	Kind SystemKind `json:"kind"`
	// Engine is a database's SQL engine (postgres, mysql, sqlite).
	Engine string `json:"engine,omitempty"`
	// Tables are a database's tables with personal data; an HTTP system
	// and Steward's stores have none.
	Tables []Table `json:"tables"`
	// Fields are the vault's field names, with their category and how many
	// customers have one (never a value).
	Fields []VaultField `json:"fields,omitempty"`
	// Categories are the data categories held, in vocabulary order.
	Categories []string `json:"categories"`
	// Purposes are why: the purposes for which vendors receive data of
	// these categories.
	Purposes []string `json:"purposes"`
	// Reasons are why data stays: the legal reasons its dataset file gives
	// for what is kept, and the role of Steward's own stores.
	Reasons []string `json:"reasons"`
	// Recipients are the vendors that receive data of these categories.
	Recipients []string `json:"recipients"`
	Facts      Facts    `json:"facts"`
}

// Table is a database table with personal data.
type Table struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

// Column is a column with personal data and its category.
type Column struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	// Erase is what erasure does to it: null, mask, hash_hmac, keep, or
	// delete_row when its table's rows are deleted.
	Erase string `json:"erase"`
}

// VaultField is one field name of the vault with its category, and how
// many customers have it.
type VaultField struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// Facts are what a privacy officer writes down about a system.
type Facts struct {
	// Owner is the team or role answerable for the system.
	Owner string `json:"owner"`
	// Location is the country where its data is stored (ISO 3166-1
	// alpha-2).
	Location         string `json:"location"`
	Description      string `json:"description"`
	SecurityMeasures string `json:"security_measures"`
	// UpdatedAt and UpdatedBy (an audit actor: "staff:…") say who wrote
	// them last; zero when nobody has.
	UpdatedAt *time.Time `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
}

// Category is a data category of the vocabulary, with where it lives.
type Category struct {
	Key   string            `json:"key"`
	Names map[string]string `json:"name"`
	// Special: a special category of personal data (GDPR Art. 9).
	Special bool `json:"special"`
	// InHouse: never disclosed to a vendor, whatever the consent.
	InHouse bool `json:"in_house"`
	// RetentionDays is how long it is kept; 0 when none is set.
	RetentionDays int `json:"retention_days"`
	// Undeclared marks a category a system uses that the vocabulary lacks.
	Undeclared bool `json:"undeclared,omitempty"`
	// Systems hold it; Recipients receive it; Purposes are what those
	// recipients receive it for.
	Systems    []string `json:"systems"`
	Recipients []string `json:"recipients"`
	Purposes   []string `json:"purposes"`
}

// Purpose is why data is used, with what and who receives it.
type Purpose struct {
	Key        string            `json:"key"`
	Names      map[string]string `json:"name"`
	LegalBasis string            `json:"legal_basis"`
	Necessary  bool              `json:"necessary"`
	// RetentionDays is the purpose's own retention; 0 when none is set.
	RetentionDays int `json:"retention_days"`
	// Categories are those its recipients receive for it.
	Categories []string `json:"categories"`
	Recipients []string `json:"recipients"`
	// Systems hold data of those categories.
	Systems []string `json:"systems"`
}

// Recipient is a vendor that receives data.
type Recipient struct {
	Key        string `json:"key"`
	Name       string `json:"name"`
	Country    string `json:"country"`
	PrivacyURL string `json:"privacy_url"`
	// ThirdCountry: the vendor's country is known and outside the EEA.
	ThirdCountry bool `json:"third_country"`
	// Safeguard is what makes a third-country transfer lawful: adequacy,
	// scc, bcr, or "" when none is recorded.
	Safeguard string   `json:"safeguard"`
	Purposes  []string `json:"purposes"`
	// Categories are the declared categories it receives; Withheld are
	// those it declares but never receives, because they are in-house.
	Categories []string `json:"categories"`
	Withheld   []string `json:"withheld"`
}

// GapKind names what is missing.
type GapKind string

// The gaps a map may show.
const (
	// GapNoOwner: a system has no owner.
	GapNoOwner GapKind = "no_owner"
	// GapNoMeasures: a system has no security measures written down.
	GapNoMeasures GapKind = "no_measures"
	// GapNoCountry: a recipient has no country, so a transfer cannot be
	// judged.
	GapNoCountry GapKind = "no_country"
	// GapNoSafeguard: a recipient in a third country has no safeguard.
	GapNoSafeguard GapKind = "no_safeguard"
	// GapUndeclared: a system uses a category the vocabulary lacks.
	GapUndeclared GapKind = "undeclared_category"
	// GapNoRetention: a category held somewhere has no retention, and no
	// purpose it serves sets one.
	GapNoRetention GapKind = "no_retention"
)

// Gap is one thing missing from the map, and what it concerns (a system,
// recipient or category key).
type Gap struct {
	Kind GapKind `json:"kind"`
	Key  string  `json:"key"`
}
