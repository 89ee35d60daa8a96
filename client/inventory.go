package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// InventoryMap is the data map: every system with what it holds and why,
// every data category with where it lives and who receives it, the
// purposes, the recipients and what the map lacks.
type InventoryMap struct {
	Systems    []InventorySystem    `json:"systems"`
	Categories []InventoryCategory  `json:"categories"`
	Purposes   []InventoryPurpose   `json:"purposes"`
	Recipients []InventoryRecipient `json:"recipients"`
	Gaps       []InventoryGap       `json:"gaps"`
}

// InventorySystem is a system holding personal data: Steward's own stores
// (steward.vault, steward.ledger, steward.archives) and every connected
// system.
type InventorySystem struct {
	Key string `json:"key"`
	// Kind is vault, ledger, archives, database or http.
	Kind   string           `json:"kind"`
	Engine string           `json:"engine,omitempty"`
	Tables []InventoryTable `json:"tables"`
	// Fields are the vault's field names with their counts (never values).
	Fields     []InventoryVaultField `json:"fields,omitempty"`
	Categories []string              `json:"categories"`
	// Purposes and Reasons say why it holds them.
	Purposes   []string    `json:"purposes"`
	Reasons    []string    `json:"reasons"`
	Recipients []string    `json:"recipients"`
	Facts      SystemFacts `json:"facts"`
}

// InventoryTable is a database table with personal data.
type InventoryTable struct {
	Name    string            `json:"name"`
	Columns []InventoryColumn `json:"columns"`
}

// InventoryColumn is a column with personal data, its category and what
// erasure does to it.
type InventoryColumn struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Erase    string `json:"erase"`
}

// InventoryVaultField is a field name of the vault, its category and how
// many customers have one.
type InventoryVaultField struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// SystemFacts are what privacy officers wrote down about a system in the
// console.
type SystemFacts struct {
	Owner            string     `json:"owner"`
	Location         string     `json:"location"`
	Description      string     `json:"description"`
	SecurityMeasures string     `json:"security_measures"`
	UpdatedAt        *time.Time `json:"updated_at"`
	UpdatedBy        string     `json:"updated_by"`
}

// InventoryCategory is a data category with where it lives and who
// receives it.
type InventoryCategory struct {
	Key           string            `json:"key"`
	Name          map[string]string `json:"name"`
	Special       bool              `json:"special"`
	InHouse       bool              `json:"in_house"`
	RetentionDays int               `json:"retention_days"`
	Undeclared    bool              `json:"undeclared,omitempty"`
	Systems       []string          `json:"systems"`
	Recipients    []string          `json:"recipients"`
	Purposes      []string          `json:"purposes"`
}

// InventoryPurpose is a purpose with the categories its recipients
// receive for it.
type InventoryPurpose struct {
	Key           string            `json:"key"`
	Name          map[string]string `json:"name"`
	LegalBasis    LegalBasis        `json:"legal_basis"`
	Necessary     bool              `json:"necessary"`
	RetentionDays int               `json:"retention_days"`
	Categories    []string          `json:"categories"`
	Recipients    []string          `json:"recipients"`
	Systems       []string          `json:"systems"`
}

// InventoryRecipient is a vendor that receives data.
type InventoryRecipient struct {
	Key          string   `json:"key"`
	Name         string   `json:"name"`
	Country      string   `json:"country"`
	PrivacyURL   string   `json:"privacy_url"`
	ThirdCountry bool     `json:"third_country"`
	Safeguard    string   `json:"safeguard"`
	Purposes     []string `json:"purposes"`
	Categories   []string `json:"categories"`
	Withheld     []string `json:"withheld"`
}

// InventoryGap is something the map lacks: Kind is no_owner, no_measures,
// no_country, no_safeguard, undeclared_category or no_retention; Key the
// system, recipient or category concerned.
type InventoryGap struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
}

// ROPA is the record of processing activities (GDPR Art. 30(1)).
type ROPA struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Controller  ROPAController `json:"controller"`
	Activities  []ROPAActivity `json:"activities"`
	Systems     []ROPASystem   `json:"systems"`
	Gaps        []InventoryGap `json:"gaps"`
}

// ROPAController is the controller the record names.
type ROPAController struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Address string `json:"address"`
	Phone   string `json:"phone"`
	URL     string `json:"url"`
}

// ROPAActivity is one processing activity: a purpose.
type ROPAActivity struct {
	Purpose           string             `json:"purpose"`
	Name              map[string]string  `json:"name"`
	LegalBasis        LegalBasis         `json:"legal_basis"`
	SubjectCategories []string           `json:"subject_categories"`
	DataCategories    []ROPADataCategory `json:"data_categories"`
	Recipients        []ROPARecipient    `json:"recipients"`
	Transfers         []ROPATransfer     `json:"transfers"`
	RetentionDays     int                `json:"retention_days"`
	Systems           []string           `json:"systems"`
}

// ROPADataCategory is a category of data an activity uses, with its
// retention for it.
type ROPADataCategory struct {
	Key           string `json:"key"`
	Name          string `json:"name"`
	Special       bool   `json:"special"`
	RetentionDays int    `json:"retention_days"`
}

// ROPARecipient is a recipient of an activity's data.
type ROPARecipient struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Country string `json:"country"`
}

// ROPATransfer is a transfer to a third country and its safeguard
// (adequacy, scc, bcr; empty when none is recorded).
type ROPATransfer struct {
	Recipient string `json:"recipient"`
	Country   string `json:"country"`
	Safeguard string `json:"safeguard"`
}

// ROPASystem is a system as the record names it, with its security
// measures.
type ROPASystem struct {
	Key              string   `json:"key"`
	Kind             string   `json:"kind"`
	Owner            string   `json:"owner"`
	Location         string   `json:"location"`
	Description      string   `json:"description"`
	Categories       []string `json:"categories"`
	SecurityMeasures string   `json:"security_measures"`
}

// Inventory returns the data map. It needs an admin key.
func (c *Client) Inventory(ctx context.Context) (*InventoryMap, error) {
	var out InventoryMap
	if err := c.do(ctx, http.MethodGet, "/v1/inventory", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ROPA returns the record of processing. It needs an admin key.
func (c *Client) ROPA(ctx context.Context) (*ROPA, error) {
	var out ROPA
	if err := c.do(ctx, http.MethodGet, "/v1/inventory/ropa", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ROPACSV returns the record of processing as CSV (RFC 4180). It needs an
// admin key.
func (c *Client) ROPACSV(ctx context.Context) ([]byte, error) {
	var out []byte
	if err := c.do(ctx, http.MethodGet, "/v1/inventory/ropa", url.Values{"format": {"csv"}}, nil, &out, nil); err != nil {
		return nil, err
	}
	return out, nil
}
