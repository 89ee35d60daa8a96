package api

import (
	"bytes"
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// HandleInventory answers the data map: every system with what it holds
// and why, every category with where it lives and who receives it, the
// purposes, the recipients and what the map lacks.
func (d *Deps) HandleInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := d.Inventory.Map(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, m)
	})
}

// HandleROPA answers the record of processing (GDPR Art. 30) as JSON, or
// as CSV with ?format=csv.
func (d *Deps) HandleROPA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := r.URL.Query().Get("format")
		if format != "" && format != "json" && format != "csv" {
			d.fail(w, r, errs.Invalid("format", "must be json or csv"))
			return
		}
		record, err := d.Inventory.ROPA(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if format != "csv" {
			httpx.Encode(w, http.StatusOK, record)
			return
		}
		var buf bytes.Buffer
		if err := inventory.WriteCSV(&buf, record); err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="record-of-processing-`+record.GeneratedAt.Format("2006-01-02")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	})
}
