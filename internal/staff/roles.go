// Package staff holds the company's staff accounts: argon2id passwords and a
// mandatory TOTP second factor (RFC 6238), server-side sessions, sign-in
// with rate limits and lockout, roles with their permissions, and training
// that must be current before anyone may reveal personal data.
//
//	accounts := staff.NewService(staff.Config{DB: store, Secrets: box})
//	created, err := accounts.Create(ctx, staff.NewAccount{Email: "ada@shop.example", Name: "Ada", Role: staff.RoleAdmin, Password: pw})
//	session, err := accounts.SignIn(ctx, staff.Credentials{Email: email, Password: pw, Code: code, IP: ip})
package staff

import "slices"

// Role is a staff member's role.
type Role string

// The roles.
const (
	RoleAdmin           Role = "admin"
	RolePrivacyOfficer  Role = "privacy_officer"
	RoleSecurityOfficer Role = "security_officer"
	RoleSupport         Role = "support"
	RoleAnalyst         Role = "analyst"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RolePrivacyOfficer, RoleSecurityOfficer, RoleSupport, RoleAnalyst}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is something a role may do.
type Permission string

// The permissions. Routes of the console declare the one they need.
const (
	PermSettings       Permission = "settings"        // properties, purposes, API keys
	PermStaff          Permission = "staff"           // staff accounts and roles
	PermTrainingAdmin  Permission = "training_admin"  // training modules
	PermRequests       Permission = "requests"        // data subject requests
	PermNotices        Permission = "notices"         // privacy notices
	PermInventory      Permission = "inventory"       // record of processing
	PermIncidents      Permission = "incidents"       // breaches
	PermAudit          Permission = "audit"           // the audit log
	PermVendors        Permission = "vendors"         // vendors and their assessments
	PermCustomerLookup Permission = "customer_lookup" // find a customer, masked
	PermReveal         Permission = "reveal"          // see a customer's data, with a purpose
	PermAggregates     Permission = "aggregates"      // counts and trends, never a person
	PermEthics         Permission = "ethics"          // purposes' ethics assessments: write and approve
	PermReports        Permission = "reports"         // the signed monthly report: counts, never a customer
)

// permissions is the one table of what each role may do. Deny by default:
// what is not here is refused.
var permissions = map[Role][]Permission{
	RoleAdmin:           {PermSettings, PermStaff, PermTrainingAdmin, PermAggregates, PermReports},
	RolePrivacyOfficer:  {PermRequests, PermNotices, PermInventory, PermCustomerLookup, PermReveal, PermAggregates, PermEthics},
	RoleSecurityOfficer: {PermIncidents, PermAudit, PermVendors, PermAggregates, PermReports},
	RoleSupport:         {PermCustomerLookup}, // masked: support never sees a plaintext field
	RoleAnalyst:         {PermAggregates},
}

// Can reports whether the role has the permission.
func (r Role) Can(p Permission) bool { return slices.Contains(permissions[r], p) }
