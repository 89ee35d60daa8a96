// Package browsertest starts one headless Chromium per test binary for
// chromedp tests, with the flags this machine's closed network needs, and
// hands each test a tab in a fresh browser context (its own cookies and
// storage). Without Chromium a test skips with the reason, or fails under
// STEWARD_TEST_REQUIRE_ALL=1.
//
//	var chromium = browsertest.New()
//
//	func TestMain(m *testing.M) { code := m.Run(); chromium.Close(); os.Exit(code) }
//
//	func TestPage(t *testing.T) {
//		ctx := chromium.Tab(t)
//		_, err := chromedp.Run(ctx, chromedp.Navigate(url))
//	}
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/testenv"
)

// Browser is a lazily started Chromium.
type Browser struct {
	extra []chromedp.ExecAllocatorOption
	once  sync.Once
	ctx   context.Context
	err   error
	stop  func()
}

// New returns a browser that starts on first use, with extra allocator
// options (such as host-resolver-rules).
func New(extra ...chromedp.ExecAllocatorOption) *Browser {
	return &Browser{extra: extra, stop: func() {}}
}

// Path returns Chromium's path, or an error that says how to install it.
func Path() (string, error) {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed (apt-get install chromium)")
}

func (b *Browser) start() {
	path, err := Path()
	if err != nil {
		b.err = err
		return
	}
	dir, err := os.MkdirTemp("", "steward-chromium-")
	if err != nil {
		b.err = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.UserDataDir(dir),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	)
	opts = append(opts, b.extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b.stop = func() {
		cancel()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(ctx); err != nil {
		b.err = fmt.Errorf("start %s: %w", path, err)
		return
	}
	b.ctx = ctx
}

// Context returns the browser's own context (its first tab), starting it
// if needed, or skips t.
func (b *Browser) Context(t testing.TB) context.Context {
	t.Helper()
	b.once.Do(b.start)
	if b.err != nil {
		testenv.Missing(t, "browser tests need Chromium: %v", b.err)
	}
	return b.ctx
}

// Tab opens a tab in a fresh browser context, with a limit of tabLimit.
// Tabs behave as focused, so that tests can run side by side.
func (b *Browser) Tab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.Context(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, tabLimit)
	t.Cleanup(cancelTimeout)
	return ctx
}

// tabLimit bounds a tab's whole life, so that a hung page fails its test
// instead of the binary's -timeout. Tests run side by side (t.Parallel) and
// a walk runs axe-core over page after page: on a loaded 2-core machine
// under -race one has been seen to need more than 30 s, though nothing
// hung. A limit costs a passing test nothing.
const tabLimit = 5 * time.Minute

// Close stops the browser.
func (b *Browser) Close() { b.stop() }
