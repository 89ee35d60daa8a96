package vault_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
)

func TestMatchDataPoint(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		v := MustOpen(t, store, MustKeyring(t, keyText(1)))
		MustPut(t, v, "subj-1", "iban", "financial", "DE89 3704 0044 0532 0130 00")
		MustPut(t, v, "subj-1", "birth_date", "other", "1815-12-10")
		MustPut(t, v, "subj-2", "iban", "financial", "GB29 NWBK 6016 1331 9268 19")
		MustPut(t, v, "subj-3", "short", "other", "12")
		if _, err := v.EraseSubject(ctx, "subj-2"); err != nil {
			t.Fatal(err)
		}
		last4 := vault.DataPoint{Field: "iban", Last: 4}
		dob := vault.DataPoint{Field: "birth_date"}
		tests := []struct {
			name    string
			subject string
			dp      vault.DataPoint
			typed   string
			want    bool
		}{
			{"last four", "subj-1", last4, "3000", true},
			{"last four spaced", "subj-1", last4, " 30 00 ", true},
			{"wrong last four", "subj-1", last4, "3001", false},
			{"the whole iban is not the last four", "subj-1", last4, "DE89370400440532013000", false},
			{"date with other separators", "subj-1", dob, "1815.12.10", true},
			{"wrong date", "subj-1", dob, "1815-12-11", false},
			{"empty typed", "subj-1", dob, "", false},
			{"missing field", "subj-1", vault.DataPoint{Field: "postcode"}, "", false},
			{"erased subject", "subj-2", last4, "6819", false},
			{"shorter than last", "subj-3", vault.DataPoint{Field: "short", Last: 4}, "12", false},
			{"unknown subject", "nobody", last4, "3000", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := v.MatchDataPoint(ctx, tt.subject, tt.dp, tt.typed)
				if err != nil || got != tt.want {
					t.Errorf("MatchDataPoint = %v, %v; want %v", got, err, tt.want)
				}
			})
		}
	})
}
