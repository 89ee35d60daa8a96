package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// ErrNoChrome says that no Chromium was found; only the scanner needs one.
var ErrNoChrome = errors.New("the scanner needs Chromium, and none was found: install it (apt-get install chromium) or name it with --chrome PATH")

// chromeNames are tried in order on PATH when no path is given.
var chromeNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// ChromeOff, given as the path, turns the tracker scans off on a machine
// that has Chromium (--scan-chrome off).
const ChromeOff = "off"

// ErrScansOff says that the tracker scans were turned off.
var ErrScansOff = errors.New("tracker scans are off (--scan-chrome off): name Chromium's path, or leave the setting empty to find it on PATH")

// FindChrome returns path when it names an executable, else the first
// Chromium found on PATH, else ErrNoChrome; ErrScansOff for ChromeOff.
func FindChrome(path string) (string, error) {
	if path == ChromeOff {
		return "", ErrScansOff
	}
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w (--chrome %s: %v)", ErrNoChrome, path, err)
		}
		return p, nil
	}
	for _, name := range chromeNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChrome
}

const allowThirdPartyCookies = `{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}`

// startBrowser starts a headless Chromium with a throwaway profile. Every
// page is then loaded in a browser context of its own (no cookies or
// storage from another page or state). Cross-site frames stay in the
// page's process, so that their requests reach the page's event stream.
func startBrowser(ctx context.Context, path string, extra map[string]any) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "steward-scan-")
	if err != nil {
		return nil, nil, fmt.Errorf("browser profile: %w", err)
	}
	// Headless Chromium blocks third-party cookies by default, as most
	// visitors' browsers do not: a scan that missed them would prove too
	// little. The profile's preference lets them be set, in every browser
	// context of the process.
	if err = os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err == nil {
		err = os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(allowThirdPartyCookies), 0o600)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("browser profile: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.UserDataDir(dir),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateOrigins,site-per-process"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 800),
	)
	for name, value := range extra {
		opts = append(opts, chromedp.Flag(name, value))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop := func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(browserCtx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return browserCtx, stop, nil
}
