// Package scanner proves that "Reject" means reject: it drives a headless
// Chromium through a property's pages once per consent state (no choice
// yet, after "Reject all", after "Accept all", and with each purpose alone)
// and records, per page and state, the cookies (name, domain, first or
// third party, lifetime; never a value), the localStorage and
// sessionStorage keys, the requests to third-party hosts, and the scripts
// and iframes with their origin. Whatever appears before consent, or after
// its purpose was refused, is a violation.
//
// What it finds is classified against the property's own declarations (the
// purposes' cookie patterns and the officers' assignments kept by Service),
// then the embedded Open Cookie Database (ocd/, Apache-2.0); anything else
// is "unclassified", for an officer to assign to a purpose and vendor.
//
//	target, err := scanner.TargetFor(catalog, "shop", nil)
//	report, err := scanner.Scan(ctx, target, scanner.Options{Chrome: path, Pages: 50})
//	run, err := svc.Record(ctx, report)         // stored, unclassified trackers kept
//	decl := scanner.Declare(report, target)     // the cookie declaration, JSON and HTML
//
// The scanner never writes to the consent ledger: it sets the banner's
// consent cookie itself (see states.go for why), crawls only the
// property's declared domains within a page and time limit, sends no
// credentials and never submits a form. Chromium is needed here and
// nowhere else in Steward; FindChrome says clearly when it is missing.
package scanner
