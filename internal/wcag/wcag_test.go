package wcag_test

import (
	"math"
	"testing"

	"github.com/steward-dev/steward/internal/wcag"
)

func TestContrast(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#000000", 21},
		{"#777777", "#ffffff", 4.48}, // the classic grey just below AA
		{"#0b5cad", "#ffffff", 6.67},
		{"#123456", "#123456", 1},
	}
	for _, c := range cases {
		if got := wcag.Contrast(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("Contrast(%s, %s) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}
