package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/staff"
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
// customer's portal and the vendors' questionnaires), which the OpenAPI
// document does not describe.
func (rt Route) Page() bool { return rt.under("/admin") || rt.under("/privacy") || rt.under("/assess") }

func (rt Route) under(prefix string) bool {
	_, path, _ := strings.Cut(rt.Pattern, " ")
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// routes is the whole HTTP surface of Steward, with the permission of each route.
func (s *server) routes() []Route {
	d := s.api
	routes := []Route{
		{"GET /livez", Public, s.handleLive()},
		{"GET /readyz", Public, s.handleReady()},
		{"GET /metrics", Public, s.handleMetrics()},
		{"GET /openapi.json", Public, api.HandleOpenAPI()},
		{"GET /.well-known/jwks.json", Public, s.handleJWKS()},
		{"GET /.well-known/gpc.json", Public, s.handleGPC()},

		{"GET /demo", Public, demo.Handler(s.DemoProperty != "", s.DemoProperty, s.bannerAPI(), s.handleUnmatched(nil))},
		{"GET /banner.js", Public, s.bannerRoute((*banner.Server).HandleScript)},
		{"GET /banner-tcf.js", Public, s.bannerRoute((*banner.Server).HandleTCFScript)},
		{"GET /tcf/vendor-list.json", Public, s.bannerRoute((*banner.Server).HandleVendorList)},

		{"OPTIONS /v1/consent/events", Public, api.HandleEventsPreflight(d)},
		{"POST /v1/consent/events", Ingest, api.HandleAppendEvents(d)},
		{"GET /v1/consent/events", Admin, api.HandleListEvents(d)},
		{"GET /v1/consent/events/{property}/{id}", Admin, api.HandleGetEvent(d)},
		{"POST /v1/decisions", Decide, api.HandleDecide(d)},
		{"POST /v1/subjects/{id}/devices", Admin, api.HandleLinkDevice(d)},

		{"GET /v1/properties", Admin, api.HandleListProperties(d)},
		{"POST /v1/properties", Admin, api.HandlePutProperty(d, true)},
		{"GET /v1/properties/{key}", Admin, api.HandleGetProperty(d)},
		{"PUT /v1/properties/{key}", Admin, api.HandlePutProperty(d, false)},
		{"GET /v1/purposes", Admin, api.HandleListPurposes(d)},
		{"POST /v1/purposes", Admin, api.HandlePutPurpose(d, true)},
		{"GET /v1/purposes/{key}", Admin, api.HandleGetPurpose(d)},
		{"PUT /v1/purposes/{key}", Admin, api.HandlePutPurpose(d, false)},
		{"GET /v1/vendors", Admin, api.HandleListVendors(d)},
		{"POST /v1/vendors", Admin, api.HandlePutVendor(d, true)},
		{"GET /v1/vendors/{key}", Admin, api.HandleGetVendor(d)},
		{"PUT /v1/vendors/{key}", Admin, api.HandlePutVendor(d, false)},
		{"GET /v1/notices", Admin, api.HandleListNotices(d)},
		{"POST /v1/notices", Admin, api.HandlePutNotice(d, true)},
		{"GET /v1/notices/{version}", Admin, api.HandleGetNotice(d)},
		{"PUT /v1/notices/{version}", Admin, api.HandlePutNotice(d, false)},
		{"POST /v1/notices/{version}/publish", Admin, api.HandlePublishNotice(d)},

		{"GET /v1/subjects/{id}/fields", Admin, api.HandleListFields(d)},
		{"PUT /v1/subjects/{id}/fields/{name}", Admin, api.HandlePutField(d)},
		{"GET /v1/subjects/{id}/fields/{name}", Admin, api.HandleGetField(d)},
		{"DELETE /v1/subjects/{id}/fields/{name}", Admin, api.HandleDeleteField(d)},
		{"POST /v1/subjects/{id}/fields/{name}/reveal", Reveal, api.HandleRevealField(d)},
		{"POST /v1/subjects/{id}/fields/{name}/token", Admin, api.HandleTokenizeField(d)},
		{"POST /v1/detokenize", Reveal, api.HandleDetokenize(d)},
		{"GET /v1/subjects/{id}/accesses", Admin, api.HandleAccesses(d)},
		{"POST /v1/subjects/{id}/erase", Admin, api.HandleEraseSubject(d)},
		{"GET /v1/subjects/{id}/restrictions", Admin, api.HandleListRestrictions(d)},
		{"POST /v1/subjects/{id}/restrictions", Admin, api.HandlePlaceRestriction(d)},
		{"DELETE /v1/subjects/{id}/restrictions", Admin, api.HandleLiftRestriction(d)},
		{"POST /v1/connectors/{name}/callback/{call}", Public, api.HandleConnectorCallback(d)},
		{"GET /v1/requests", Admin, api.HandleListRequests(d)},
		{"POST /v1/requests", Admin, api.HandleFileRequest(d)},
		{"GET /v1/requests/{id}", Admin, api.HandleGetRequest(d)},
		{"POST /v1/requests/{id}/identity", Admin, api.HandleVerifyIdentity(d)},
		{"POST /v1/disclosures", Disclose, api.HandleAskDisclosure(d)},
		{"GET /v1/disclosures/{id}", Disclose, api.HandleGetDisclosure(d)},
		{"GET /v1/vendors/{key}/disclosures", Admin, api.HandleVendorDisclosures(d)},

		{"GET /admin/assets/{file}", Public, s.console((*admin.Console).HandleStylesheet)},
		{"GET /admin/signin", Public, s.console((*admin.Console).HandleSignInPage)},
		{"POST /admin/signin", Public, s.console((*admin.Console).HandleSignIn)},
		{"POST /admin/signout", SignedIn, s.console((*admin.Console).HandleSignOut)},
		{"GET /admin/reauth", SignedIn, s.console((*admin.Console).HandleReauthPage)},
		{"POST /admin/reauth", SignedIn, s.console((*admin.Console).HandleReauth)},
		{"GET /admin", SignedIn, s.console((*admin.Console).HandleDashboard)},
		{"GET /admin/customers", StaffCan(staff.PermCustomerLookup), s.console((*admin.Console).HandleCustomerSearch)},
		{"GET /admin/customers/{id}", StaffCan(staff.PermCustomerLookup), s.console((*admin.Console).HandleCustomer)},
		{"POST /admin/customers/{id}/reveal", StaffCan(staff.PermReveal), s.console((*admin.Console).HandleReveal)},
		{"GET /admin/training", SignedIn, s.console((*admin.Console).HandleTraining)},
		{"POST /admin/training", StaffCan(staff.PermTrainingAdmin), s.console((*admin.Console).HandlePutModule)},
		{"GET /admin/training/{key}", SignedIn, s.console((*admin.Console).HandleModule)},
		{"POST /admin/training/{key}", SignedIn, s.console((*admin.Console).HandleQuiz)},
		{"GET /admin/audit", StaffCan(staff.PermAudit), s.console((*admin.Console).HandleAudit)},
		{"GET /admin/requests", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequests)},
		{"GET /admin/requests.csv", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestsCSV)},
		{"GET /admin/requests/{id}", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequest)},
		{"POST /admin/requests/{id}/contact", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestContact)},
		{"POST /admin/requests/{id}/proposal", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestProposal)},
		{"POST /admin/requests/{id}/identity", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestIdentity)},
		{"POST /admin/requests/{id}/{action}", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleRequestAction)},
		{"GET /admin/jobs", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleJobs)},
		{"GET /admin/webhooks", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleWebhooks)},
		{"POST /admin/webhooks", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleCreateWebhook)},
		{"POST /admin/webhooks/{id}/{op}", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleWebhookAction)},
		{"POST /admin/webhooks/messages/{id}/replay", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleReplayWebhook)},
		{"GET /admin/keys", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleKeys)},
		{"POST /admin/keys", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleCreateKey)},
		{"POST /admin/keys/{id}/revoke", StaffCan(staff.PermSettings), s.console((*admin.Console).HandleRevokeKey)},
		{"GET /admin/vendors", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleVendors(v) })},
		{"GET /admin/vendors/templates", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleTemplates(v) })},
		{"POST /admin/vendors/templates", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandlePutTemplate(v) })},
		{"GET /admin/vendors/{key}", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleVendor(v) })},
		{"POST /admin/vendors/{key}/send", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleSendQuestionnaire(v) })},
		{"POST /admin/vendors/{key}/contacts", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleAddContact(v) })},
		{"POST /admin/vendors/{key}/contacts/reveal", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleRevealContacts(v) })},
		{"POST /admin/vendors/{key}/contacts/{id}/remove", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleRemoveContact(v) })},
		{"GET /admin/vendors/{key}/assessments/{id}", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleAssessment(v) })},
		{"POST /admin/vendors/{key}/assessments/{id}/review", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleReviewAssessment(v) })},
		{"POST /admin/vendors/{key}/assessments/{id}/revoke", StaffCan(staff.PermVendors), s.vendorPage(func(c *admin.Console, v *assurance.Service) http.Handler { return c.HandleRevokeAssessment(v) })},

		{"GET /assess/assets/{file}", Public, s.assess((*assess.Pages).HandleStylesheet)},
		{"GET /assess/{token}", Public, s.assess((*assess.Pages).HandleForm)},
		{"POST /assess/{token}", Public, s.assess((*assess.Pages).HandleSave)},
		{"POST /admin/jobs/{id}/{op}", StaffCan(staff.PermRequests), s.console((*admin.Console).HandleJobAction)},
		{"GET /admin/staff", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleStaff)},
		{"POST /admin/staff", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleCreateStaff)},
		{"POST /admin/staff/{id}/role", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleSetRole)},
		{"POST /admin/staff/{id}/disable", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleDisable)},
		{"POST /admin/staff/{id}/reset", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleIssueReset)},
		{"POST /admin/staff/{id}/unlock", StaffCan(staff.PermStaff), s.console((*admin.Console).HandleUnlock)},
		{"GET /admin/reset/{token}", Public, s.console((*admin.Console).HandleResetPage)},
		{"POST /admin/reset/{token}", Public, s.console((*admin.Console).HandleRedeemReset)},

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
		{"POST /privacy/requests", Customer, s.portal((*portal.Portal).HandleFileRequest)},
		{"POST /privacy/disclosures/{id}", Customer, s.portal((*portal.Portal).HandleDecideDisclosure)},
		{"POST /privacy/restrictions/lift", Customer, s.portal((*portal.Portal).HandleLiftRestriction)},
		{"POST /privacy/requests/{id}/cancel", Customer, s.portal((*portal.Portal).HandleCancelRequest)},
		{"GET /privacy/requests/{id}", Customer, s.portal((*portal.Portal).HandleRequestPage)},
		{"POST /privacy/requests/{id}/answer", Customer, s.portal((*portal.Portal).HandleAnswer)},
		{"POST /privacy/rectify", Customer, s.portal((*portal.Portal).HandleRectify)},
		{"GET /privacy/requests/{id}/download", Customer, s.portal((*portal.Portal).HandleDownload)},
		{"POST /privacy/requests/{id}/identity", Customer, s.portal((*portal.Portal).HandleProveIdentity)},
		{"GET /privacy/agent", Public, s.portal((*portal.Portal).HandleAgentPage)},
		{"POST /privacy/agent", Public, s.portal((*portal.Portal).HandleAgentFile)},
		{"GET /privacy/agent/confirm/{id}", Public, s.portal((*portal.Portal).HandleAgentConfirmPage)},
		{"POST /privacy/agent/confirm/{id}", Public, s.portal((*portal.Portal).HandleAgentConfirm)},

		{"GET /v1/webhooks/endpoints", Admin, api.HandleListEndpoints(d)},
		{"POST /v1/webhooks/endpoints", Admin, api.HandleCreateEndpoint(d)},
		{"GET /v1/webhooks/endpoints/{id}", Admin, api.HandleGetEndpoint(d)},
		{"PATCH /v1/webhooks/endpoints/{id}", Admin, api.HandleUpdateEndpoint(d)},
		{"DELETE /v1/webhooks/endpoints/{id}", Admin, api.HandleDeleteEndpoint(d)},
		{"POST /v1/webhooks/endpoints/{id}/rotate-secret", Admin, api.HandleRotateSecret(d)},
		{"GET /v1/webhooks/endpoints/{id}/messages", Admin, api.HandleEndpointMessages(d)},
		{"GET /v1/webhooks/dead-letters", Admin, api.HandleDeadLetters(d)},
		{"POST /v1/webhooks/messages/{id}/replay", Admin, api.HandleReplay(d)},

		{"GET /v1/api-keys", Admin, api.HandleListKeys(d)},
		{"POST /v1/api-keys", Admin, api.HandleCreateKey(d)},
		{"DELETE /v1/api-keys/{id}", Admin, api.HandleRevokeKey(d)},
	}
	if s.MetricsElsewhere {
		routes = slices.DeleteFunc(routes, func(rt Route) bool { return rt.Pattern == "GET /metrics" })
	}
	return routes
}

// bannerAPI is the URL the banner posts consent to, for the demo page's CSP.
func (s *server) bannerAPI() string {
	if s.Banner == nil {
		return ""
	}
	return s.Banner.PublicURL
}
