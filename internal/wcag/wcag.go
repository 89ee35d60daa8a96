// Package wcag computes WCAG 2 colour contrast, so that themable pages (the
// banner, the portal, emails) keep text readable whatever brand colour a
// company picks:
//
//	if wcag.Contrast("#ffffff", brand) < wcag.AA { ... }
package wcag

import (
	"math"
	"strconv"
)

// AA is the contrast WCAG 2 level AA asks of normal text.
const AA = 4.5

// Contrast is the WCAG contrast ratio of two #rrggbb colours, from 1 to 21.
func Contrast(a, b string) float64 {
	la, lb := Luminance(a), Luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Luminance is the WCAG relative luminance of a #rrggbb colour.
func Luminance(hex string) float64 {
	channel := func(s string) float64 {
		v, _ := strconv.ParseUint(s, 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(hex[1:3]) + 0.7152*channel(hex[3:5]) + 0.0722*channel(hex[5:7])
}
