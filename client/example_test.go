package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/steward-dev/steward/client"
)

// A backend asks whether it may send a customer's data to an ad network,
// forwarding the GPC signal of the request it serves.
func ExampleClient_Decide() {
	c := client.New("https://consent.shop.example", "stw_decide_...",
		client.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
	incoming, _ := http.NewRequest("GET", "https://shop.example/checkout", nil)

	answers, err := c.Decide(context.Background(), []client.Question{
		{Subject: "customer-42", Purpose: "sale_of_data", Vendor: "adnet", Property: "shop"},
	}, client.WithGPCHeader(incoming.Header.Get("Sec-GPC") == "1"))
	if err != nil {
		log.Printf("consent unknown, not sharing: %v", err)
		return
	}
	if answers[0].Allowed {
		fmt.Println("share with adnet")
	}
}

// A backend records a choice made in its own settings page. The event id
// makes the call safe to retry.
func ExampleClient_AppendEvents() {
	c := client.New("https://consent.shop.example", "stw_record_...") // a back end's record key
	results, err := c.AppendEvents(context.Background(), []client.EventInput{{
		ID: "9b2f6c1e-2d4a-4f57-8c3b-5a1d0e7f9c20", Property: "shop", Subject: "customer-42",
		Purpose: "marketing", Action: client.ActionWithdraw, Source: client.SourceAPI, NoticeVersion: "2026-11",
	}})
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest:
		log.Printf("refused: %v", apiErr.Fields) // e.g. map[events[0].purpose:unknown purpose "marketing"]
	case err != nil:
		log.Printf("retry later: %v", err)
	default:
		log.Printf("recorded as ledger entry %d; receipt %s", results[0].Seq, results[0].Receipt)
	}
}

// A back end, after its checkout form was posted with the form snippet's
// receipts, records the choices as the customer's own, with the form's
// source (docs/forms.md). The ids, made from the order, make a retried
// post record nothing twice.
func ExampleFormSource() {
	c := client.New("https://consent.shop.example", "stw_record_...") // a back end's record key, never public
	// What the verified steward_receipt values of the post said.
	ticked := map[string]bool{"newsletter": true, "marketing": false}
	var events []client.EventInput
	for purpose, granted := range ticked {
		action := client.ActionDeny
		if granted {
			action = client.ActionGrant
		}
		events = append(events, client.EventInput{ID: "order-9912-" + purpose, Property: "shop", Subject: "customer-42",
			Purpose: purpose, Action: action, Source: client.FormSource("checkout"), NoticeVersion: "2026-11"})
	}
	if _, err := c.AppendEvents(context.Background(), events); err != nil {
		log.Printf("not recorded, the order goes on without them: %v", err)
	}
}

// A backend decides in its own process, from a Decider that follows the
// ledger: no round trip per decision, and a refusal (ReasonStale) rather
// than a stale grant when it falls behind.
func ExampleClient_NewDecider() {
	ctx := context.Background()
	c := client.New("https://consent.shop.example", "stw_decide_...")
	d, err := c.NewDecider(ctx, client.DeciderOptions{MaxLag: 30 * time.Second})
	if err != nil {
		log.Printf("no local decisions, asking the server instead: %v", err)
		return
	}
	defer d.Close()
	incoming, _ := http.NewRequest("GET", "https://shop.example/checkout", nil)
	a, err := d.Decide(&client.Question{Subject: "customer-42", Purpose: "marketing", Property: "shop"},
		incoming.Header.Get("Sec-GPC") == "1")
	switch {
	case err != nil:
		log.Printf("question at fault: %v", err)
	case a.Reason == client.ReasonStale:
		log.Printf("not sending: the Decider is %s behind", d.Lag().Behind)
	case a.Allowed:
		fmt.Println("send the offer")
	}
}
