package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/staff"
)

// names resolves the ids the audit log holds to what people recognise:
// staff members by name and role, API keys by label and scope, in the
// words of the page's language.
type names struct {
	staff map[string]staff.Account
	keys  map[string]apikey.Key
	p     *i18n.Printer
}

// names reads the staff accounts and API keys once for a page. Where a
// list cannot be read, the page shows ids rather than fail.
func (c *Console) names(r *http.Request) names {
	ctx := r.Context()
	n := names{staff: map[string]staff.Account{}, keys: map[string]apikey.Key{}, p: i18n.Default().Printer(languageOf(r))}
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

// t says a console message in the page's language (English when the
// names were made without a printer).
func (n names) t(key string, args ...any) string {
	p := n.p
	if p == nil {
		p = i18n.Default().Printer(i18n.English)
	}
	return p.T("console."+key, args...)
}

// roleName is a role in words: "privacy officer".
func roleName(r staff.Role) string { return strings.ReplaceAll(string(r), "_", " ") }

// staffName is a staff member's name, or their id when unknown.
func (n names) staffName(id string) string {
	if a, ok := n.staff[id]; ok {
		return a.Name
	}
	return n.t("ad_staff_member", "id", id)
}

// keyName is an API key by its label and scope: API key “shop backend” (admin).
func (n names) keyName(id string) string {
	k, ok := n.keys[id]
	switch {
	case !ok:
		return n.t("ad_api_key", "id", id)
	case k.Label == "":
		return n.t("ad_api_key_unlabelled", "scope", k.Scope, "id", id)
	default:
		return n.t("ad_api_key_labelled", "label", k.Label, "scope", k.Scope)
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
		return n.t("ad_system")
	case audit.KindSubject:
		return n.t("ad_subject")
	}
	return a.String()
}

// ActorText names who acted, from the text form an actor is stored in
// elsewhere ("staff:ID", "api_key:ID").
func (n names) ActorText(s string) string {
	kind, id, _ := strings.Cut(s, ":")
	return n.Actor(audit.Actor{Kind: kind, ID: id})
}

// Target names what an entry is about.
func (n names) Target(t audit.Target) string {
	switch t.Kind {
	case "":
		return ""
	case audit.KindSubject:
		return n.t("ad_customer", "id", t.ID)
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
	"customer.view": func(_ map[string]string, n names) string { return n.t("ad_customer_view") },
	"customer.search": func(d map[string]string, n names) string {
		return n.t("ad_customer_search", "by", d["by"], "matches", n.t("ad_matches", "n", count(d["matches"])))
	},
	"vault.reveal": func(d map[string]string, n names) string {
		return n.t("ad_vault_reveal", "fields", n.fieldList(d["fields"]), "purpose", d["purpose"], "ticket", d["ticket"], "via", n.via(d))
	},
	"vault.detokenize": func(d map[string]string, n names) string {
		return n.t("ad_vault_detokenize", "fields", n.fieldList(d["fields"]), "via", n.via(d))
	},
	"vault.put": func(d map[string]string, n names) string {
		return n.t("ad_vault_put", "fields", n.fieldList(d["fields"]), "via", n.via(d))
	},
	"vault.delete": func(d map[string]string, n names) string {
		return n.t("ad_vault_delete", "fields", n.fieldList(d["fields"]), "via", n.via(d))
	},
	"vault.tokenize": func(d map[string]string, n names) string {
		return n.t("ad_vault_tokenize", "fields", n.fieldList(d["fields"]), "via", n.via(d))
	},
	"vault.revoke_token": func(d map[string]string, n names) string { return n.t("ad_vault_revoke_token", "via", n.via(d)) },
	"vault.erase":        func(d map[string]string, n names) string { return n.t("ad_vault_erase", "via", n.via(d)) },
	"staff.sign_in":      func(_ map[string]string, n names) string { return n.t("ad_staff_sign_in") },
	"staff.sign_in_failed": func(d map[string]string, n names) string {
		return n.t("ad_staff_sign_in_failed", "reason", d["reason"])
	},
	"staff.create": func(d map[string]string, n names) string {
		return n.t("ad_staff_create", "role", roleName(staff.Role(d["role"])))
	},
	"staff.role": func(d map[string]string, n names) string {
		return n.t("ad_staff_role", "role", roleName(staff.Role(d["role"])))
	},
	"staff.disable": func(_ map[string]string, n names) string { return n.t("ad_staff_disable") },
	"staff.reset_issued": func(d map[string]string, n names) string {
		if d["kind"] == string(staff.ResetAuthenticator) {
			return n.t("ad_reset_issued_authenticator")
		}
		return n.t("ad_reset_issued_password")
	},
	"staff.reset_redeemed": func(d map[string]string, n names) string {
		if d["kind"] == string(staff.ResetAuthenticator) {
			return n.t("ad_reset_redeemed_authenticator")
		}
		return n.t("ad_reset_redeemed_password")
	},
	"staff.unlock": func(d map[string]string, n names) string {
		return n.t("ad_staff_unlock", "failures", n.t("st_failures", "n", count(d["failures"])))
	},
	"api_key.create": func(d map[string]string, n names) string {
		var label, property string
		if d["label"] != "" {
			label = n.t("ad_key_label", "label", d["label"])
		}
		if d["property"] != "" {
			property = n.t("ad_key_property", "property", d["property"])
		}
		return n.t("ad_api_key_create", "scope", d["scope"], "label", label, "property", property, "via", n.via(d))
	},
	"api_key.revoke": func(d map[string]string, n names) string { return n.t("ad_api_key_revoke", "via", n.via(d)) },
	"keys.rotate": func(d map[string]string, n names) string {
		return n.t("ad_keys_rotate", "keys", n.t("ad_data_keys", "n", count(d["rewrapped"])), "version", d["version"], "via", n.via(d))
	},
	"keys.retire": func(d map[string]string, n names) string {
		return n.t("ad_keys_retire", "version", d["version"], "via", n.via(d))
	},
	"dsr.identity_verified_by_staff": func(d map[string]string, n names) string {
		how := d["channel"]
		if key, ok := channelHow[dsr.VerifyChannel(d["channel"])]; ok {
			how = n.t(key)
		}
		var declaration string
		if d["declaration"] == "true" {
			declaration = n.t("ad_declaration_signed")
		}
		return n.t("ad_identity_verified", "how", how, "tier", d["tier"], "declaration", declaration)
	},
	"alert.reveal_burst":   func(_ map[string]string, n names) string { return n.t("ad_reveal_burst") },
	"retention.hold_place": func(_ map[string]string, n names) string { return n.t("ad_hold_place") },
	"retention.hold_lift":  func(_ map[string]string, n names) string { return n.t("ad_hold_lift") },
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

func (n names) fieldList(fields string) string {
	if fields == "" {
		return n.t("ad_a_field")
	}
	if strings.Contains(fields, ",") {
		return n.t("ad_the_fields", "fields", fields)
	}
	return n.t("ad_the_field", "field", fields)
}

func (n names) via(d map[string]string) string {
	switch d["via"] {
	case "console":
		return n.t("ad_via_console")
	case "api":
		return n.t("ad_via_api")
	case "cli":
		return n.t("ad_via_cli")
	case "portal":
		return n.t("ad_via_portal")
	}
	return ""
}

// count reads a detail's number (0 when it holds none).
func count(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
