package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
)

// names resolves the ids the audit log holds to what people recognise:
// staff members by name and role, API keys by label and scope.
type names struct {
	staff map[string]staff.Account
	keys  map[string]apikey.Key
}

// names reads the staff accounts and API keys once for a page. Where a
// list cannot be read, the page shows ids rather than fail.
func (c *Console) names(ctx context.Context) names {
	n := names{staff: map[string]staff.Account{}, keys: map[string]apikey.Key{}}
	if accounts, err := c.Staff.List(ctx); err == nil {
		for _, a := range accounts {
			n.staff[a.ID] = a
		}
	} else {
		c.Log.Warn("console: staff names", "err", err)
	}
	if c.Keys != nil {
		if keys, err := c.Keys.List(ctx); err == nil {
			for _, k := range keys {
				n.keys[k.ID] = k
			}
		} else {
			c.Log.Warn("console: key labels", "err", err)
		}
	}
	return n
}

// roleName is a role in words: "privacy officer".
func roleName(r staff.Role) string { return strings.ReplaceAll(string(r), "_", " ") }

// staffName is a staff member's name, or their id when unknown.
func (n names) staffName(id string) string {
	if a, ok := n.staff[id]; ok {
		return a.Name
	}
	return "staff member " + id
}

// keyName is an API key by its label and scope: API key “shop backend” (admin).
func (n names) keyName(id string) string {
	k, ok := n.keys[id]
	switch {
	case !ok:
		return "API key " + id
	case k.Label == "":
		return fmt.Sprintf("an unlabelled %s API key (%s)", k.Scope, id)
	default:
		return fmt.Sprintf("API key “%s” (%s)", k.Label, k.Scope)
	}
}

// Actor names who acted.
func (n names) Actor(a audit.Actor) string {
	switch a.Kind {
	case audit.KindStaff:
		if acc, ok := n.staff[a.ID]; ok {
			return acc.Name + " (" + roleName(acc.Role) + ")"
		}
		return n.staffName(a.ID)
	case audit.KindAPIKey:
		return n.keyName(a.ID)
	case audit.KindSystem:
		return "Steward (automatic)"
	case audit.KindSubject:
		return "the customer, in the privacy portal"
	}
	return a.String()
}

// Target names what an entry is about.
func (n names) Target(t audit.Target) string {
	switch t.Kind {
	case "":
		return ""
	case audit.KindSubject:
		return "customer " + t.ID
	case audit.KindStaff:
		return n.staffName(t.ID)
	case audit.KindAPIKey:
		return n.keyName(t.ID)
	}
	return t.String()
}

// sentences says what common actions did, from their details; d holds the
// details' values as text. Others get describeGeneric.
var sentences = map[string]func(d map[string]string, n names) string{
	"customer.view": func(map[string]string, names) string {
		return "Opened the customer's record, every field masked."
	},
	"customer.search": func(d map[string]string, _ names) string {
		return fmt.Sprintf("Searched for a customer by %s and found %s.", d["by"], plural(d["matches"], "match", "matches"))
	},
	"vault.reveal": func(d map[string]string, _ names) string {
		return fmt.Sprintf("Revealed %s for “%s” (ticket %s)%s.", fieldList(d["fields"]), d["purpose"], d["ticket"], via(d))
	},
	"vault.detokenize": func(d map[string]string, _ names) string {
		return fmt.Sprintf("Exchanged a token for the value of %s%s.", fieldList(d["fields"]), via(d))
	},
	"vault.put":    func(d map[string]string, _ names) string { return "Stored " + fieldList(d["fields"]) + via(d) + "." },
	"vault.delete": func(d map[string]string, _ names) string { return "Deleted " + fieldList(d["fields"]) + via(d) + "." },
	"vault.tokenize": func(d map[string]string, _ names) string {
		return "Made a token for " + fieldList(d["fields"]) + via(d) + "."
	},
	"vault.revoke_token": func(d map[string]string, _ names) string { return "Revoked a token" + via(d) + "." },
	"vault.erase": func(d map[string]string, _ names) string {
		return "Erased the customer: their data key was destroyed" + via(d) + "."
	},
	"staff.sign_in": func(map[string]string, names) string { return "Signed in to the console." },
	"staff.sign_in_failed": func(d map[string]string, _ names) string {
		return "A sign-in was refused (" + d["reason"] + ")."
	},
	"staff.create": func(d map[string]string, _ names) string {
		return "Added the account, as " + roleName(staff.Role(d["role"])) + "."
	},
	"staff.role": func(d map[string]string, _ names) string {
		return "Changed the role to " + roleName(staff.Role(d["role"])) + "."
	},
	"staff.disable": func(map[string]string, names) string { return "Disabled the account; its sessions ended." },
	"staff.reset_issued": func(d map[string]string, _ names) string {
		return "Issued a one-time link to reset the " + d["kind"] + "; the account's sessions ended."
	},
	"staff.reset_redeemed": func(d map[string]string, _ names) string {
		return "Set a new " + d["kind"] + " with a one-time reset link."
	},
	"staff.unlock": func(d map[string]string, _ names) string {
		return "Unlocked the account after " + plural(d["failures"], "failed sign-in", "failed sign-ins") + "."
	},
	"api_key.create": func(d map[string]string, _ names) string {
		s := "Made a " + d["scope"] + " API key"
		if d["label"] != "" {
			s += " labelled “" + d["label"] + "”"
		}
		if d["property"] != "" {
			s += " for property " + d["property"]
		}
		return s + via(d) + "."
	},
	"api_key.revoke": func(d map[string]string, _ names) string { return "Revoked the API key" + via(d) + "." },
	"keys.rotate": func(d map[string]string, _ names) string {
		return fmt.Sprintf("Rewrapped %s under master key version %s%s.", plural(d["rewrapped"], "data key", "data keys"), d["version"], via(d))
	},
	"keys.retire": func(d map[string]string, _ names) string {
		return "Retired master key version " + d["version"] + via(d) + "."
	},
	"dsr.identity_verified_by_staff": func(d map[string]string, _ names) string {
		how := words("en")[channelHow[dsr.VerifyChannel(d["channel"])]]
		if how == "" {
			how = d["channel"]
		}
		s := "Recorded the customer's identity as verified " + how + ", for the " + d["tier"] + " tier"
		if d["declaration"] == "true" {
			s += ", the declaration signed"
		}
		return s + "."
	},
	"alert.reveal_burst": func(map[string]string, names) string {
		return "Alert: too many reveals in a short time; the next reveal was refused."
	},
}

// Describe says in a sentence what an entry records.
func (n names) Describe(e audit.Stored) string {
	d := detailText(e.Details)
	if say, ok := sentences[e.Action]; ok {
		return say(d, n)
	}
	return describeGeneric(e.Action, d)
}

// describeGeneric turns "vendor.contact_added" with {"vendor":"adnet"}
// into "Vendor: contact added (vendor adnet)."
func describeGeneric(action string, d map[string]string) string {
	area, verb, ok := strings.Cut(action, ".")
	s := strings.ReplaceAll(area, "_", " ")
	if ok {
		s += ": " + strings.ReplaceAll(strings.ReplaceAll(verb, "_", " "), ".", " ")
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+d[k])
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + "."
}

// detailText reads an entry's details as text values: lists joined with
// commas.
func detailText(details audit.Details) map[string]string {
	var raw map[string]any
	out := map[string]string{}
	if err := json.Unmarshal([]byte(details.String()), &raw); err != nil {
		return out
	}
	for k, v := range raw {
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, item := range v {
				parts[i] = fmt.Sprint(item)
			}
			out[k] = strings.Join(parts, ", ")
		case nil:
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

func fieldList(fields string) string {
	if fields == "" {
		return "a field"
	}
	if strings.Contains(fields, ",") {
		return "the fields " + fields
	}
	return "the " + fields + " field"
}

func via(d map[string]string) string {
	switch d["via"] {
	case "console":
		return " in the console"
	case "api":
		return " through the API"
	case "cli":
		return " on the command line"
	case "portal":
		return " in the privacy portal"
	}
	return ""
}

func plural(n, one, many string) string {
	if n == "1" {
		return "1 " + one
	}
	if n == "" {
		n = "0"
	}
	return n + " " + many
}
