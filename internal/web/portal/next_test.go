package portal

import "testing"

// TestSafeNext: only the portal's own pages, written plainly, are places
// to return to after signing in; everything else (another site, a scheme,
// a path hidden by encoding) is "", the home page.
func TestSafeNext(t *testing.T) {
	cases := []struct {
		raw, want string
	}{
		{"/privacy/requests/req_01HXYZabc-_9", "/privacy/requests/req_01HXYZabc-_9"},
		{"/privacy/home", "/privacy/home"},
		{"/privacy/receipts/demo/e-analytics", "/privacy/receipts/demo/e-analytics"},
		{"", ""},
		{"//evil.example", ""},
		{"//evil.example/privacy/home", ""},
		{"https://evil.example", ""},
		{"https://evil.example/privacy/home", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"%2F%2Fevil.example", ""},
		{"/%2F/evil.example", ""},
		{"/%5Cevil", ""},
		{"/privacy/requests/%2e%2e/home", ""},
		{"/privacy/requests/../../admin", ""},
		{"/privacy/home/../../admin", ""},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{"data:text/html,hi", ""},
		{"/privacy/home\r\nLocation: https://evil.example", ""},
		{"/privacy/home\x00", ""},
		{"/privacy/home\t", ""},
		{" /privacy/home", ""},
		{"/privacy/home?x=//evil.example", ""},
		{"/privacy/home#//evil.example", ""},
		{"/admin/requests/req_1", ""},
		{"/privacy/signout", ""},
		{"/privacy/requests/req_1/download", ""},
		{"/privacy/requests/other_1", ""},
		{"privacy/home", ""},
		{"/privacy/requests/req_" + string(make([]byte, 70)), ""},
	}
	for _, c := range cases {
		if got := safeNext(c.raw); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}
