package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/transparency"
	"github.com/steward-dev/steward/internal/web/admin"
	"github.com/steward-dev/steward/internal/web/api"
	"github.com/steward-dev/steward/internal/web/assess"
	"github.com/steward-dev/steward/internal/web/banner"
	"github.com/steward-dev/steward/internal/web/demo"
	"github.com/steward-dev/steward/internal/web/portal"
)

// Permission says who may call a route.
type Permission string

// The permissions. Deny by default: a route must name one.
const (
	// Public routes need no credentials.
	Public Permission = "public"
	// Ingest routes take an ingest key of the property concerned, a record
	// key or an admin key; the handler limits what each may assert.
	Ingest Permission = Permission(apikey.ScopeIngest)
	// Record routes take a back end's record key (or admin), never a
	// public ingest key.
	Record Permission = Permission(apikey.ScopeRecord)
	// Decide routes take a decide key (or admin).
	Decide Permission = Permission(apikey.ScopeDecide)
	// Admin routes take an admin key.
	Admin Permission = Permission(apikey.ScopeAdmin)
	// Reveal routes return personal data in plaintext: a reveal key, and a
	// stated purpose recorded in the audit log first.
	Reveal Permission = Permission(apikey.ScopeReveal)
	// Disclose routes ask whether a subject's data may go to a vendor.
	Disclose Permission = Permission(apikey.ScopeDisclose)
	// Customer portal routes take a customer's session (signed in with a
	// code sent by email).
	Customer Permission = "customer"
	// SignedIn console routes take any staff session.
	SignedIn = Permission(staffPrefix + admin.SignedIn)
)

// staffPrefix marks the permissions of console routes.
const staffPrefix = "staff:"

// StaffCan is the permission of a console route: a staff session whose
// role has p (internal/staff holds the table of roles and permissions).
func StaffCan(p staff.Permission) Permission { return Permission(staffPrefix + string(p)) }

// staffPermission returns the staff permission of a console route.
func (p Permission) staffPermission() (staff.Permission, bool) {
	rest, ok := strings.CutPrefix(string(p), staffPrefix)
	return staff.Permission(rest), ok
}

// Route is one entry of the HTTP surface.
type Route struct {
	Pattern    string
	Permission Permission
	Handler    http.Handler
}

// Console reports whether the route belongs to the staff console (HTML
// pages under /admin).
func (rt Route) Console() bool { return rt.under("/admin") }

// Page reports whether the route serves HTML pages (the console, the
// customer's portal, the vendors' questionnaires and the transparency
// pages, but not their JSON), which the OpenAPI document does not describe.
func (rt Route) Page() bool {
	_, path, _ := strings.Cut(rt.Pattern, " ")
	return rt.under("/admin") || rt.under("/privacy") || rt.under("/assess") || (rt.under("/transparency") && !strings.HasSuffix(path, ".json"))
}

func (rt Route) under(prefix string) bool {
	_, path, _ := strings.Cut(rt.Pattern, " ")
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// RouteGroup is the routes of one surface of Steward. Every route's path
// is one of Prefixes or under one ("/admin" holds "/admin" and
// "/admin/…"; a prefix ending in "/" holds what follows it), and no other
// group's.
type RouteGroup struct {
	Surface  string
	Prefixes []string
	Routes   []Route
}

// Holds reports whether path belongs to the group by its prefixes.
func (g RouteGroup) Holds(path string) bool {
	for _, p := range g.Prefixes {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// groups is the whole HTTP surface of Steward, by surface, with the
// permission of each route. A route that needs a subsystem the server may
// run without declares it here (requires, consoleNeeds), and answers 503
// while it is off.
func (s *server) groups() []RouteGroup {
	d := s.api
	groups := []RouteGroup{
		// Operational: probes, metrics, the API description and the .well-known documents.
		{Surface: "operational", Prefixes: []string{"/livez", "/readyz", "/metrics", "/openapi.json", "/.well-known/"}, Routes: []Route{
			{"GET /livez", Public, s.handleLive()},
			{"GET /readyz", Public, s.handleReady()},
			{"GET /metrics", Public, s.handleMetrics()},
			{"GET /openapi.json", Public, api.HandleOpenAPI()},
			{"GET /.well-known/jwks.json", Public, s.handleJWKS()},
			{"GET /.well-known/gpc.json", Public, s.handleGPC()},
		}},
		// Banner: the consent banner's scripts, the TCF vendor list it reads, and
		// the consent snippet of the company's own forms.
		{Surface: "banner", Prefixes: []string{"/banner.js", "/banner-tcf.js", "/banner-gpp.js", "/form.js", "/tcf/"}, Routes: []Route{
			{"GET /banner.js", Public, s.bannerRoute((*banner.Server).HandleScript)},
			{"GET /banner-tcf.js", Public, s.bannerRoute((*banner.Server).HandleTCFScript)},
			{"GET /banner-gpp.js", Public, s.bannerRoute((*banner.Server).HandleGPPScript)},
			{"GET /tcf/vendor-list.json", Public, s.bannerRoute((*banner.Server).HandleVendorList)},
			{"GET /form.js", Public, s.bannerRoute((*banner.Server).HandleFormScript)},
		}},
		// Demo: a page that shows the banner of the demo property (serve --demo).
		{Surface: "demo", Prefixes: []string{"/demo"}, Routes: []Route{
			{"GET /demo", Public, demo.Handler(s.DemoProperty != "", s.DemoProperty, s.bannerAPI(), s.handleUnmatched(nil))},
		}},
		// API: the JSON API under /v1, with API keys (see openapi.json).
		{Surface: "api", Prefixes: []string{"/v1/"}, Routes: []Route{
			{"OPTIONS /v1/consent/events", Public, d.HandleEventsPreflight()},
			{"POST /v1/consent/events", Ingest, d.HandleAppendEvents()},
			{"GET /v1/consent/events", Admin, d.HandleListEvents()},
			{"GET /v1/consent/events/{property}/{id}", Admin, d.HandleGetEvent()},
			{"POST /v1/decisions", Decide, d.HandleDecide()},
			{"GET /v1/consent/rules", Decide, d.HandleDecisionRules()},
			{"GET /v1/consent/stream", Decide, d.HandleDecisionStream()},
			{"POST /v1/subjects/{id}/devices", Admin, d.HandleLinkDevice()},
			{"POST /v1/subjects/{id}/preference-links", Record, s.requires(s.Preferences != nil && s.Vault != nil, "the preference centre", d.HandlePreferenceLinks())},
			{"GET /v1/properties", Admin, d.HandleListProperties()},
			{"POST /v1/properties", Admin, d.HandlePutProperty(true)},
			{"GET /v1/properties/{key}", Admin, d.HandleGetProperty()},
			{"PUT /v1/properties/{key}", Admin, d.HandlePutProperty(false)},
			{"GET /v1/properties/{key}/forms", Admin, d.HandleListForms()},
			{"POST /v1/properties/{key}/forms", Admin, d.HandlePutForm(true)},
			{"GET /v1/properties/{key}/forms/{id}", Admin, d.HandleGetForm()},
			{"PUT /v1/properties/{key}/forms/{id}", Admin, d.HandlePutForm(false)},
			{"GET /v1/purposes", Admin, d.HandleListPurposes()},
			{"POST /v1/purposes", Admin, d.HandlePutPurpose(true)},
			{"GET /v1/purposes/{key}", Admin, d.HandleGetPurpose()},
			{"PUT /v1/purposes/{key}", Admin, d.HandlePutPurpose(false)},
			{"GET /v1/purposes/{key}/assessment", Admin, s.requires(s.Ethics != nil, "the ethics assessments", d.HandleGetAssessment())},
			{"PUT /v1/purposes/{key}/assessment", Admin, s.requires(s.Ethics != nil, "the ethics assessments", d.HandlePutAssessment())},
			{"POST /v1/purposes/{key}/assessment/approve", Admin, s.requires(s.Ethics != nil, "the ethics assessments", d.HandleApproveAssessment())},
			{"GET /v1/vendors", Admin, d.HandleListVendors()},
			{"POST /v1/vendors", Admin, d.HandlePutVendor(true)},
			{"GET /v1/vendors/{key}", Admin, d.HandleGetVendor()},
			{"PUT /v1/vendors/{key}", Admin, d.HandlePutVendor(false)},
			{"GET /v1/categories", Admin, d.HandleListCategories()},
			{"POST /v1/categories", Admin, d.HandlePutCategory(true)},
			{"GET /v1/categories/{key}", Admin, d.HandleGetCategory()},
			{"PUT /v1/categories/{key}", Admin, d.HandlePutCategory(false)},
			{"GET /v1/notices", Admin, d.HandleListNotices()},
			{"POST /v1/notices", Admin, d.HandlePutNotice(true)},
			{"GET /v1/notices/{version}", Admin, d.HandleGetNotice()},
			{"PUT /v1/notices/{version}", Admin, d.HandlePutNotice(false)},
			{"POST /v1/notices/{version}/publish", Admin, d.HandlePublishNotice()},
			{"GET /v1/subjects/{id}/fields", Admin, d.HandleListFields()},
			{"PUT /v1/subjects/{id}/fields/{name}", Admin, d.HandlePutField()},
			{"GET /v1/subjects/{id}/fields/{name}", Admin, d.HandleGetField()},
			{"DELETE /v1/subjects/{id}/fields/{name}", Admin, d.HandleDeleteField()},
			{"POST /v1/subjects/{id}/fields/{name}/reveal", Reveal, s.requires(s.Reveals != nil, "the reveal limiter", d.HandleRevealField())},
			{"POST /v1/subjects/{id}/fields/{name}/token", Admin, d.HandleTokenizeField()},
			{"POST /v1/detokenize", Reveal, s.requires(s.Reveals != nil, "the reveal limiter", d.HandleDetokenize())},
			{"GET /v1/subjects/{id}/accesses", Admin, d.HandleAccesses()},
			{"POST /v1/subjects/{id}/erase", Admin, d.HandleEraseSubject()},
			{"GET /v1/subjects/{id}/restrictions", Admin, d.HandleListRestrictions()},
			{"POST /v1/subjects/{id}/restrictions", Admin, d.HandlePlaceRestriction()},
			{"DELETE /v1/subjects/{id}/restrictions", Admin, d.HandleLiftRestriction()},
			{"GET /v1/subjects/{id}/legal-hold", Admin, s.requires(s.Retention != nil, "retention", d.HandleListHolds())},
			{"POST /v1/subjects/{id}/legal-hold", Admin, s.requires(s.Retention != nil, "retention", d.HandlePlaceHold())},
			{"DELETE /v1/subjects/{id}/legal-hold", Admin, s.requires(s.Retention != nil, "retention", d.HandleLiftHold())},
			{"POST /v1/connectors/{name}/callback/{call}", Public, d.HandleConnectorCallback()},
			{"GET /v1/requests", Admin, s.requires(s.Requests != nil, "the request workflow", d.HandleListRequests())},
			{"POST /v1/requests", Admin, s.requires(s.Requests != nil && s.Vault != nil, "the request workflow", d.HandleFileRequest())},
			{"GET /v1/requests/{id}", Admin, d.HandleGetRequest()},
			{"POST /v1/requests/{id}/identity", Admin, d.HandleVerifyIdentity()},
			{"POST /v1/disclosures", Disclose, s.requires(s.Disclosures != nil, "the disclosure service", d.HandleAskDisclosure())},
			{"GET /v1/disclosures/{id}", Disclose, d.HandleGetDisclosure()},
			{"GET /v1/vendors/{key}/disclosures", Admin, d.HandleVendorDisclosures()},
			{"GET /v1/webhooks/endpoints", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleListEndpoints())},
			{"POST /v1/webhooks/endpoints", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleCreateEndpoint())},
			{"GET /v1/webhooks/endpoints/{id}", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleGetEndpoint())},
			{"PATCH /v1/webhooks/endpoints/{id}", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleUpdateEndpoint())},
			{"DELETE /v1/webhooks/endpoints/{id}", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleDeleteEndpoint())},
			{"POST /v1/webhooks/endpoints/{id}/rotate-secret", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleRotateSecret())},
			{"GET /v1/webhooks/endpoints/{id}/messages", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleEndpointMessages())},
			{"GET /v1/webhooks/dead-letters", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleDeadLetters())},
			{"POST /v1/webhooks/messages/{id}/replay", Admin, s.requires(s.Outbox != nil, "the webhook outbox", d.HandleReplay())},
			{"GET /v1/inventory", Admin, s.requires(s.Inventory != nil, "the data map", d.HandleInventory())},
			{"GET /v1/inventory/ropa", Admin, s.requires(s.Inventory != nil, "the data map", d.HandleROPA())},
			{"GET /v1/incidents", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleListIncidents())},
			{"POST /v1/incidents", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleCreateIncident())},
			{"GET /v1/incidents/{id}", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleGetIncident())},
			{"PATCH /v1/incidents/{id}", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleUpdateIncident())},
			{"POST /v1/incidents/{id}/status", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleMoveIncident())},
			{"POST /v1/incidents/{id}/assessment", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleAssessIncident())},
			{"GET /v1/incidents/{id}/timeline", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleIncidentTimeline())},
			{"POST /v1/incidents/{id}/timeline", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleAddIncidentNote())},
			{"GET /v1/incidents/{id}/affected", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleListAffectedSets())},
			{"POST /v1/incidents/{id}/affected", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleComputeAffectedSet())},
			{"GET /v1/incidents/{id}/review", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleGetReview())},
			{"PUT /v1/incidents/{id}/review", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandlePutReview())},
			{"POST /v1/incidents/{id}/review/actions", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleAddReviewAction())},
			{"POST /v1/incidents/{id}/review/actions/{action}/done", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleCompleteReviewAction())},
			{"GET /v1/incidents/{id}/account", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleListAccounts())},
			{"POST /v1/incidents/{id}/account", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandlePublishAccount())},
			{"POST /v1/incidents/{id}/account/withdraw", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleWithdrawAccount())},
			{"GET /v1/incidents/{id}/regulator-report", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleRegulatorReport())},
			{"GET /v1/incidents/{id}/notices", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleIncidentNotices())},
			{"PUT /v1/incidents/{id}/notices/texts/{lang}", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleSetNoticeText())},
			{"POST /v1/incidents/{id}/notices", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleQueueNotices())},
			{"GET /v1/incidents/{id}/vendors", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleIncidentVendors())},
			{"POST /v1/incidents/{id}/vendors", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleNotifyVendors())},
			{"GET /v1/incidents/{id}/filings", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleIncidentFilings())},
			{"POST /v1/incidents/{id}/filings", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleRecordFiling())},
			{"POST /v1/incidents/{id}/notified", Admin, s.requires(s.Incidents != nil, "the incident register", d.HandleRecordNotified())},
			{"GET /v1/api-keys", Admin, d.HandleListKeys()},
			{"POST /v1/api-keys", Admin, d.HandleCreateKey()},
			{"DELETE /v1/api-keys/{id}", Admin, d.HandleRevokeKey()},
		}},
		// Console: the staff console's HTML pages.
		{Surface: "console", Prefixes: []string{"/admin"}, Routes: []Route{
			{"GET /admin/assets/{file}", Public, s.console((*admin.Console).HandleStylesheet)},
			{"GET /admin/signin", Public, s.console((*admin.Console).HandleSignInPage)},
			{"POST /admin/signin", Public, s.console((*admin.Console).HandleSignIn)},
			{"POST /admin/signout", SignedIn, s.console((*admin.Console).HandleSignOut)},
			{"GET /admin/reauth", SignedIn, s.console((*admin.Console).HandleReauthPage)},
			{"POST /admin/reauth", SignedIn, s.console((*admin.Console).HandleReauth)},
			{"GET /admin", SignedIn, s.console((*admin.Console).HandleDashboard)},
			{"GET /admin/account", SignedIn, s.console((*admin.Console).HandleAccount)},
			{"POST /admin/account/language", SignedIn, s.console((*admin.Console).HandleSetLanguage)},
			{"GET /admin/customers", StaffCan(staff.PermCustomerLookup), s.console((*admin.Console).HandleCustomerSearch)},
			{"GET /admin/customers/{id}", StaffCan(staff.PermCustomerLookup), s.console((*admin.Console).HandleCustomer)},
			{"POST /admin/customers/{id}/reveal", StaffCan(staff.PermReveal), s.consoleNeeds(revealsOn, "reveals", (*admin.Console).HandleReveal)},
			{"POST /admin/customers/{id}/legal-hold", StaffCan(staff.PermRequests), s.consoleNeeds(retentionOn, "retention", (*admin.Console).HandlePlaceHold)},
			{"POST /admin/customers/{id}/legal-hold/lift", StaffCan(staff.PermRequests), s.consoleNeeds(retentionOn, "retention", (*admin.Console).HandleLiftHold)},
			{"GET /admin/retention", StaffCan(staff.PermInventory), s.consoleNeeds(retentionOn, "retention", (*admin.Console).HandleRetention)},
			{"GET /admin/incidents", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleIncidents)},
			{"POST /admin/incidents", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleCreateIncident)},
			{"GET /admin/incidents/{id}", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleIncident)},
			{"POST /admin/incidents/{id}", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleUpdateIncident)},
			{"POST /admin/incidents/{id}/status", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleMoveIncident)},
			{"POST /admin/incidents/{id}/assessment", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleAssessIncident)},
			{"POST /admin/incidents/{id}/note", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleIncidentNote)},
			{"POST /admin/incidents/{id}/affected", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleComputeAffected)},
			{"GET /admin/incidents/{id}/review", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleIncidentReview)},
			{"POST /admin/incidents/{id}/review", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleSaveReview)},
			{"POST /admin/incidents/{id}/review/actions", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleAddReviewAction)},
			{"POST /admin/incidents/{id}/review/actions/{action}/done", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleCompleteReviewAction)},
			{"POST /admin/incidents/{id}/account/preview", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandlePreviewAccount)},
			{"POST /admin/incidents/{id}/account", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandlePublishAccount)},
			{"POST /admin/incidents/{id}/account/withdraw", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleWithdrawAccount)},
			{"POST /admin/my-actions/{action}/done", SignedIn, s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleCompleteMyAction)},
			{"GET /admin/incidents/{id}/parties", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleIncidentParties)},
			{"POST /admin/incidents/{id}/notices/texts", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleSetNoticeText)},
			{"POST /admin/incidents/{id}/notices", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleQueueNotices)},
			{"POST /admin/incidents/{id}/vendors", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleNotifyVendors)},
			{"POST /admin/incidents/{id}/filings", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleRecordFiling)},
			{"POST /admin/incidents/{id}/notified", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleRecordNotified)},
			{"GET /admin/incidents/{id}/regulator-report", StaffCan(staff.PermIncidents), s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleRegulatorReport)},
			{"GET /admin/report-incident", SignedIn, s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleReportPage)},
			{"POST /admin/report-incident", SignedIn, s.consoleNeeds(incidentsOn, "incidents", (*admin.Console).HandleReport)},
			{"GET /admin/training", SignedIn, s.console((*admin.Console).HandleTraining)},
			{"POST /admin/training", StaffCan(staff.PermTrainingAdmin), s.console((*admin.Console).HandlePutModule)},
			{"GET /admin/training/{key}", SignedIn, s.console((*admin.Console).HandleModule)},
			{"POST /admin/training/{key}", SignedIn, s.console((*admin.Console).HandleQuiz)},
			{"GET /admin/training/{key}/edit", StaffCan(staff.PermTrainingAdmin), s.console((*admin.Console).HandleEditModule)},
			{"POST /admin/training-assignments", StaffCan(staff.PermTrainingAdmin), s.console((*admin.Console).HandlePutAssignment)},
			{"POST /admin/training-assignments/delete", StaffCan(staff.PermTrainingAdmin), s.console((*admin.Console).HandleDeleteAssignment)},
			{"GET /admin/training-report", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleTrainingReport)},
			{"GET /admin/training-report.csv", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleTrainingReportCSV)},
			{"GET /admin/audit", StaffCan(staff.PermAudit), s.console((*admin.Console).HandleAudit)},
			{"GET /admin/requests", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequests)},
			{"GET /admin/requests.csv", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestsCSV)},
			{"GET /admin/requests/{id}", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequest)},
			{"POST /admin/requests/{id}/contact", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestContact)},
			{"POST /admin/requests/{id}/proposal", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestProposal)},
			{"POST /admin/requests/{id}/identity", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestIdentity)},
			{"POST /admin/requests/{id}/{action}", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestAction)},
			{"GET /admin/jobs", StaffCan(staff.PermRequests), s.consoleNeeds(jobsOn, "jobs", (*admin.Console).HandleJobs)},
			{"GET /admin/webhooks", StaffCan(staff.PermSettings), s.consoleNeeds(outboxOn, "webhooks", (*admin.Console).HandleWebhooks)},
			{"POST /admin/webhooks", StaffCan(staff.PermSettings), s.consoleNeeds(outboxOn, "webhooks", (*admin.Console).HandleCreateWebhook)},
			{"POST /admin/webhooks/{id}/{op}", StaffCan(staff.PermSettings), s.consoleNeeds(outboxOn, "webhooks", (*admin.Console).HandleWebhookAction)},
			{"POST /admin/webhooks/messages/{id}/replay", StaffCan(staff.PermSettings), s.consoleNeeds(outboxOn, "webhooks", (*admin.Console).HandleReplayWebhook)},
			{"GET /admin/keys", StaffCan(staff.PermSettings), s.consoleNeeds(keysOn, "keys", (*admin.Console).HandleKeys)},
			{"POST /admin/keys", StaffCan(staff.PermSettings), s.consoleNeeds(keysOn, "keys", (*admin.Console).HandleCreateKey)},
			{"POST /admin/keys/{id}/revoke", StaffCan(staff.PermSettings), s.consoleNeeds(keysOn, "keys", (*admin.Console).HandleRevokeKey)},
			{"GET /admin/vendors", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleVendors)},
			{"GET /admin/vendors/templates", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleTemplates)},
			{"POST /admin/vendors/templates", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandlePutTemplate)},
			{"GET /admin/vendors/{key}", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleVendor)},
			{"POST /admin/vendors/{key}/send", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleSendQuestionnaire)},
			{"POST /admin/vendors/{key}/contacts", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleAddContact)},
			{"POST /admin/vendors/{key}/contacts/reveal", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleRevealContacts)},
			{"POST /admin/vendors/{key}/contacts/{id}/remove", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleRemoveContact)},
			{"GET /admin/vendors/{key}/assessments/{id}", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleAssessment)},
			{"POST /admin/vendors/{key}/assessments/{id}/review", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleReviewAssessment)},
			{"POST /admin/vendors/{key}/assessments/{id}/revoke", StaffCan(staff.PermVendors), s.consoleNeeds(vendorsOn, "vendors", (*admin.Console).HandleRevokeAssessment)},
			{"GET /admin/drift", StaffCan(staff.PermInventory), s.consoleNeeds(driftOn, "drift", (*admin.Console).HandleDrift)},
			{"POST /admin/drift/{id}/{decision}", StaffCan(staff.PermInventory), s.consoleNeeds(driftOn, "drift", (*admin.Console).HandleDriftDecision)},
			{"GET /admin/analytics", StaffCan(staff.PermAggregates), s.consoleNeeds(analyticsOn, "analytics", (*admin.Console).HandleAnalytics)},
			{"GET /admin/analytics.csv", StaffCan(staff.PermAggregates), s.consoleNeeds(analyticsOn, "analytics", (*admin.Console).HandleAnalyticsCSV)},
			{"POST /admin/analytics/rebuild", StaffCan(staff.PermSettings), s.consoleNeeds(analyticsOn, "analytics", (*admin.Console).HandleRebuildAnalytics)},
			{"GET /admin/scans", StaffCan(staff.PermInventory), s.consoleNeeds(scannerOn, "scans", (*admin.Console).HandleScans)},
			{"POST /admin/scans", StaffCan(staff.PermInventory), s.consoleNeeds(scannerOn, "scans", (*admin.Console).HandleStartScan)},
			{"GET /admin/scans/{id}", StaffCan(staff.PermInventory), s.consoleNeeds(scannerOn, "scans", (*admin.Console).HandleScan)},
			{"POST /admin/scans/{id}/assign", StaffCan(staff.PermInventory), s.consoleNeeds(scannerOn, "scans", (*admin.Console).HandleAssignTracker)},
			{"GET /admin/scans/{property}/declaration", StaffCan(staff.PermInventory), s.consoleNeeds(scannerOn, "scans", (*admin.Console).HandleDeclaration)},
			{"POST /admin/jobs/{id}/{op}", StaffCan(staff.PermRequests), s.consoleNeeds(jobsOn, "jobs", (*admin.Console).HandleJobAction)},
			{"GET /admin/catalog", SignedIn, s.console((*admin.Console).HandleCatalog)},
			{"GET /admin/catalog/properties", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleProperties)},
			{"GET /admin/catalog/properties/new", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleNewProperty)},
			{"POST /admin/catalog/properties", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutProperty, true))},
			{"GET /admin/catalog/properties/{key}/edit", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleEditProperty)},
			{"POST /admin/catalog/properties/{key}", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutProperty, false))},
			{"GET /admin/catalog/properties/{key}/forms", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleForms)},
			{"GET /admin/catalog/properties/{key}/forms/new", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleNewForm)},
			{"POST /admin/catalog/properties/{key}/forms", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutForm, true))},
			{"GET /admin/catalog/properties/{key}/forms/{id}/edit", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleEditForm)},
			{"POST /admin/catalog/properties/{key}/forms/{id}", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutForm, false))},
			{"GET /admin/catalog/purposes", StaffCan(staff.PermSettings), s.console((*admin.Console).HandlePurposes)},
			{"GET /admin/catalog/purposes/new", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleNewPurpose)},
			{"POST /admin/catalog/purposes", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutPurpose, true))},
			{"GET /admin/catalog/purposes/{key}/edit", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleEditPurpose)},
			{"POST /admin/catalog/purposes/{key}", StaffCan(staff.PermSettings), s.console(catalogWrite((*admin.Console).HandlePutPurpose, false))},
			{"GET /admin/catalog/assessments", StaffCan(staff.PermEthics), s.consoleNeeds(ethicsOn, "ethics", (*admin.Console).HandleEthicsAssessments)},
			{"GET /admin/catalog/purposes/{key}/assessment", StaffCan(staff.PermEthics), s.consoleNeeds(ethicsOn, "ethics", (*admin.Console).HandleEthicsAssessment)},
			{"POST /admin/catalog/purposes/{key}/assessment", StaffCan(staff.PermEthics), s.consoleNeeds(ethicsOn, "ethics", (*admin.Console).HandleSaveEthics)},
			{"POST /admin/catalog/purposes/{key}/assessment/approve", StaffCan(staff.PermEthics), s.consoleNeeds(ethicsOn, "ethics", (*admin.Console).HandleApproveEthics)},
			{"GET /admin/catalog/purposes/{key}/assessment/print", StaffCan(staff.PermEthics), s.consoleNeeds(ethicsOn, "ethics", (*admin.Console).HandleEthicsPrint)},
			{"GET /admin/catalog/vendors", StaffCan(staff.PermVendors), s.console((*admin.Console).HandleCatalogVendors)},
			{"GET /admin/catalog/vendors/new", StaffCan(staff.PermVendors), s.console((*admin.Console).HandleNewVendor)},
			{"POST /admin/catalog/vendors", StaffCan(staff.PermVendors), s.console(catalogWrite((*admin.Console).HandlePutVendor, true))},
			{"GET /admin/catalog/vendors/{key}/edit", StaffCan(staff.PermVendors), s.console((*admin.Console).HandleEditVendor)},
			{"POST /admin/catalog/vendors/{key}", StaffCan(staff.PermVendors), s.console(catalogWrite((*admin.Console).HandlePutVendor, false))},
			{"GET /admin/catalog/categories", StaffCan(staff.PermInventory), s.console((*admin.Console).HandleCategories)},
			{"GET /admin/catalog/categories/new", StaffCan(staff.PermInventory), s.console((*admin.Console).HandleNewCategory)},
			{"POST /admin/catalog/categories", StaffCan(staff.PermInventory), s.console(catalogWrite((*admin.Console).HandlePutCategory, true))},
			{"GET /admin/catalog/categories/{key}/edit", StaffCan(staff.PermInventory), s.console((*admin.Console).HandleEditCategory)},
			{"POST /admin/catalog/categories/{key}", StaffCan(staff.PermInventory), s.console(catalogWrite((*admin.Console).HandlePutCategory, false))},
			{"GET /admin/catalog/notices", StaffCan(staff.PermNotices), s.console((*admin.Console).HandleNotices)},
			{"GET /admin/catalog/notices/new", StaffCan(staff.PermNotices), s.console((*admin.Console).HandleNewNotice)},
			{"POST /admin/catalog/notices", StaffCan(staff.PermNotices), s.console(catalogWrite((*admin.Console).HandlePutNotice, true))},
			{"GET /admin/catalog/notices/{version}/edit", StaffCan(staff.PermNotices), s.console((*admin.Console).HandleEditNotice)},
			{"POST /admin/catalog/notices/{version}", StaffCan(staff.PermNotices), s.console(catalogWrite((*admin.Console).HandlePutNotice, false))},
			{"GET /admin/catalog/notices/{version}/publish", StaffCan(staff.PermNotices), s.console((*admin.Console).HandleReviewNotice)},
			{"POST /admin/catalog/notices/{version}/publish", StaffCan(staff.PermNotices), s.console((*admin.Console).HandlePublishNotice)},
			{"GET /admin/inventory", StaffCan(staff.PermInventory), s.consoleNeeds(inventoryOn, "inventory", (*admin.Console).HandleInventory)},
			{"GET /admin/inventory/systems/{key}", StaffCan(staff.PermInventory), s.consoleNeeds(inventoryOn, "inventory", (*admin.Console).HandleInventorySystem)},
			{"POST /admin/inventory/systems/{key}", StaffCan(staff.PermInventory), s.consoleNeeds(inventoryOn, "inventory", (*admin.Console).HandlePutInventorySystem)},
			{"GET /admin/inventory/ropa", StaffCan(staff.PermInventory), s.consoleNeeds(inventoryOn, "inventory", (*admin.Console).HandleROPA)},
			{"GET /admin/inventory/ropa.csv", StaffCan(staff.PermInventory), s.consoleNeeds(inventoryOn, "inventory", (*admin.Console).HandleROPACSV)},
			{"GET /admin/staff", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleStaff)},
			{"POST /admin/staff", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleCreateStaff)},
			{"POST /admin/staff/{id}/role", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleSetRole)},
			{"POST /admin/staff/{id}/disable", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleDisable)},
			{"POST /admin/staff/{id}/reset", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleIssueReset)},
			{"POST /admin/staff/{id}/unlock", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleUnlock)},
			{"GET /admin/access-reviews", StaffCan(staff.PermStaff), s.consoleNeeds(reviewsOn, "reviews", (*admin.Console).HandleAccessReviews)},
			{"POST /admin/access-reviews", StaffCan(staff.PermStaff), s.consoleNeeds(reviewsOn, "reviews", (*admin.Console).HandleOpenAccessReview)},
			{"GET /admin/access-reviews/{id}", StaffCan(staff.PermStaff), s.consoleNeeds(reviewsOn, "reviews", (*admin.Console).HandleAccessReview)},
			{"POST /admin/access-reviews/{id}/accounts/{staff}", StaffCan(staff.PermStaff), s.consoleNeeds(reviewsOn, "reviews", (*admin.Console).HandleAccessReviewDecision)},
			{"POST /admin/access-reviews/{id}/close", StaffCan(staff.PermStaff), s.consoleNeeds(reviewsOn, "reviews", (*admin.Console).HandleCloseAccessReview)},
			{"GET /admin/reports/monthly", StaffCan(staff.PermReports), s.consoleNeeds(reportsOn, "reports", (*admin.Console).HandleMonthlyReport)},
			{"GET /admin/reports/monthly/print", StaffCan(staff.PermReports), s.consoleNeeds(reportsOn, "reports", (*admin.Console).HandleMonthlyReportPrint)},
			{"GET /admin/reports/monthly.json", StaffCan(staff.PermReports), s.consoleNeeds(reportsOn, "reports", (*admin.Console).HandleMonthlyReportJSON)},
			{"GET /admin/reset/{token}", Public, s.console((*admin.Console).HandleResetPage)},
			{"POST /admin/reset/{token}", Public, s.console((*admin.Console).HandleRedeemReset)},
		}},
		// Portal: the customer's privacy center.
		{Surface: "portal", Prefixes: []string{"/privacy"}, Routes: []Route{
			{"GET /privacy/assets/{file}", Public, s.portal((*portal.Portal).HandleStylesheet)},
			{"GET /privacy", Public, s.portal((*portal.Portal).HandleStart)},
			{"POST /privacy/code", Public, s.portal((*portal.Portal).HandleRequestCode)},
			{"GET /privacy/code", Public, s.portal((*portal.Portal).HandleCodePage)},
			{"GET /privacy/verify", Public, s.portal((*portal.Portal).HandleVerifyPage)},
			{"POST /privacy/signin", Public, s.portal((*portal.Portal).HandleSignIn)},
			{"POST /privacy/signout", Customer, s.portal((*portal.Portal).HandleSignOut)},
			{"GET /privacy/home", Customer, s.portal((*portal.Portal).HandleHome)},
			{"POST /privacy/consents", Customer, s.portal((*portal.Portal).HandleChangeConsent)},
			{"POST /privacy/data/show", Customer, s.portal((*portal.Portal).HandleShowData)},
			{"POST /privacy/data/systems", Customer, s.portal((*portal.Portal).HandleFindInSystems)},
			{"GET /privacy/receipts/{property}/{id}", Customer, s.portal((*portal.Portal).HandleReceipt)},
			{"GET /privacy/notices/{id}", Customer, s.portal((*portal.Portal).HandleBreachNotice)},
			{"POST /privacy/requests", Customer, s.portal((*portal.Portal).HandleFileRequest)},
			{"POST /privacy/disclosures/{id}", Customer, s.portal((*portal.Portal).HandleDecideDisclosure)},
			{"POST /privacy/restrictions/lift", Customer, s.portal((*portal.Portal).HandleLiftRestriction)},
			{"POST /privacy/requests/{id}/cancel", Customer, s.portal((*portal.Portal).HandleCancelRequest)},
			{"GET /privacy/requests/{id}", Customer, s.portal((*portal.Portal).HandleRequestPage)},
			{"POST /privacy/requests/{id}/answer", Customer, s.portal((*portal.Portal).HandleAnswer)},
			{"POST /privacy/rectify", Customer, s.portal((*portal.Portal).HandleRectify)},
			{"GET /privacy/requests/{id}/download", Customer, s.portal((*portal.Portal).HandleDownload)},
			{"POST /privacy/requests/{id}/identity", Customer, s.portal((*portal.Portal).HandleProveIdentity)},
			{"GET /privacy/preferences/{token}", Public, s.portal((*portal.Portal).HandlePreferences)},
			{"POST /privacy/preferences/{token}", Public, s.portal((*portal.Portal).HandleSavePreferences)},
			{"GET /privacy/preferences/{token}/receipts/{property}/{id}", Public, s.portal((*portal.Portal).HandlePreferenceReceipt)},
			{"GET /privacy/unsubscribe/{token}", Public, s.portal((*portal.Portal).HandleUnsubscribePage)},
			{"POST /privacy/unsubscribe/{token}", Public, s.portalOneClick((*portal.Portal).HandleOneClick)},
			{"GET /privacy/agent", Public, s.portal((*portal.Portal).HandleAgentPage)},
			{"POST /privacy/agent", Public, s.portal((*portal.Portal).HandleAgentFile)},
			{"GET /privacy/agent/confirm/{id}", Public, s.portal((*portal.Portal).HandleAgentConfirmPage)},
			{"POST /privacy/agent/confirm/{id}", Public, s.portal((*portal.Portal).HandleAgentConfirm)},
		}},
		// Transparency: what the company publishes for everyone (the page
		// generated from what Steward enforces, its versions, the incidents it
		// gave a public account of), HTML pages and their JSON.
		{Surface: "transparency", Prefixes: []string{"/transparency", "/transparency.json"}, Routes: []Route{
			{"GET /transparency", Public, s.transparency((*transparency.Handler).HandlePage)},
			{"GET /transparency.json", Public, s.transparency((*transparency.Handler).HandleDocumentJSON)},
			{"GET /transparency/history", Public, s.transparency((*transparency.Handler).HandleHistory)},
			{"GET /transparency/assets/{file}", Public, s.transparency((*transparency.Handler).HandleStylesheet)},
			{"GET /transparency/incidents", Public, s.transparency((*transparency.Handler).HandleIncidents)},
			{"GET /transparency/incidents.json", Public, s.transparency((*transparency.Handler).HandleIncidentsJSON)},
			{"GET /transparency/incidents/{id}", Public, s.transparency((*transparency.Handler).HandleIncident)},
		}},
		// Assess: the vendors' questionnaires, reached by a link's token.
		{Surface: "assess", Prefixes: []string{"/assess"}, Routes: []Route{
			{"GET /assess/assets/{file}", Public, s.assess((*assess.Pages).HandleStylesheet)},
			{"GET /assess/{token}", Public, s.assess((*assess.Pages).HandleForm)},
			{"POST /assess/{token}", Public, s.assess((*assess.Pages).HandleSave)},
		}},
	}
	if s.MetricsElsewhere {
		groups[0].Routes = slices.DeleteFunc(groups[0].Routes, func(rt Route) bool { return rt.Pattern == "GET /metrics" })
	}
	return groups
}

// routes is the one list of routes: the groups' routes, in order.
func (s *server) routes() []Route {
	var routes []Route
	for _, g := range s.groups() {
		routes = append(routes, g.Routes...)
	}
	return routes
}

// The console's optional subsystems, for consoleNeeds.
func vendorsOn(d *admin.Deps) bool   { return d.Vendors != nil }
func keysOn(d *admin.Deps) bool      { return d.Keys != nil }
func outboxOn(d *admin.Deps) bool    { return d.Outbox != nil }
func jobsOn(d *admin.Deps) bool      { return d.Jobs != nil }
func driftOn(d *admin.Deps) bool     { return d.Drift != nil }
func scannerOn(d *admin.Deps) bool   { return d.Scanner != nil }
func revealsOn(d *admin.Deps) bool   { return d.Reveals != nil }
func inventoryOn(d *admin.Deps) bool { return d.Inventory != nil }

func ethicsOn(d *admin.Deps) bool { return d.Ethics != nil }

func analyticsOn(d *admin.Deps) bool { return d.Analytics != nil }

func retentionOn(d *admin.Deps) bool { return d.Retention != nil }
func incidentsOn(d *admin.Deps) bool { return d.Incidents != nil }
func reviewsOn(d *admin.Deps) bool   { return d.Reviews != nil }
func reportsOn(d *admin.Deps) bool   { return d.Reports != nil }

// bannerAPI is the URL the banner posts consent to, for the demo page's CSP.
func (s *server) bannerAPI() string {
	if s.Banner == nil {
		return ""
	}
	return s.Banner.PublicURL
}

// catalogWrite is a console catalog form's handler that creates (true) or
// replaces (false) an entry.
func catalogWrite(h func(*admin.Console, bool) http.Handler, create bool) func(*admin.Console) http.Handler {
	return func(c *admin.Console) http.Handler { return h(c, create) }
}
